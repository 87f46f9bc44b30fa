package main

func newHelpCommand() *command {
	c := newCommand("help", "[COMMAND]", "show the commands, or one command's details", 0, 1)
	c.help = `
Help lists the commands, or with COMMAND shows its usage, what it does and
its flags. "kvtool COMMAND -h" does the same.
`
	c.run = func(e *env, args []string) error {
		if len(args) == 0 {
			printOverview(e.stdout)
			return nil
		}
		cmd := lookup(args[0])
		if cmd == nil {
			if s := suggest(args[0], commandNames()); s != "" {
				return usagef("unknown command %q: did you mean %q?", args[0], s)
			}
			return usagef("unknown command %q", args[0])
		}
		cmd.printUsage(e.stdout, true)
		return nil
	}
	return c
}
