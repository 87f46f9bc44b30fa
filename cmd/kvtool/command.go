package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one kvtool subcommand. Each lives in its own command_NAME.go,
// whose constructor declares its flags and its run function; adding a command
// is a new file and a line in commands.
type command struct {
	name    string
	args    string // positional arguments for the synopsis, e.g. "FILE KEY"
	summary string // one line for the command list
	help    string // what help NAME prints after the synopsis
	minArgs int
	maxArgs int  // -1: no limit
	reads   bool // opens FILE read-only: a user who may only read FILE can run it
	flags   *flag.FlagSet
	run     func(e *env, args []string) error
}

// synopsis is the usage line of kvtool as a whole.
const synopsis = "usage: kvtool COMMAND FILE [ARGUMENTS] [FLAGS]"

func newCommand(name, args, summary string, minArgs, maxArgs int) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// parseArgs and report say what went wrong; the flag package would print
	// its own usage on top.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{name: name, args: args, summary: summary, minArgs: minArgs, maxArgs: maxArgs, flags: fs}
}

// commands returns every command in the order help lists them.
func commands() []*command {
	return []*command{
		newGetCommand(),
		newMgetCommand(),
		newExistsCommand(),
		newTTLCommand(),
		newListCommand(),
		newPutCommand(),
		newMsetCommand(),
		newAddCommand(),
		newReplaceCommand(),
		newCasCommand(),
		newIncrCommand(),
		newExpireCommand(),
		newPersistCommand(),
		newDelCommand(),
		newClearCommand(),
		newSweepCommand(),
		newCreateCommand(),
		newStatCommand(),
		newTopCommand(),
		newCheckCommand(),
		newSnapshotCommand(),
		newDumpCommand(),
		newLoadCommand(),
		newWatchCommand(),
		newCompletionCommand(),
		newHelpCommand(),
		newVersionCommand(),
	}
}

// lookup returns the command called name, or nil.
func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// commandNames returns the names of every command, in help's order.
func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return names
}

// readCommands lists the commands that need only read access to FILE, for
// the hint after a permission error.
func readCommands() string {
	var names []string
	for _, c := range commands() {
		if c.reads {
			names = append(names, c.name)
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// checkArgs reports a usage error when the number of positional arguments is
// wrong for c.
func (c *command) checkArgs(args []string) error {
	switch {
	case len(args) < c.minArgs:
		return usagef("missing %s", strings.Join(strings.Fields(c.args)[len(args):], " "))
	case c.maxArgs >= 0 && len(args) > c.maxArgs:
		return usagef("unexpected argument %q", args[c.maxArgs])
	}
	return nil
}

// printUsage writes c's synopsis and flags to w, and with long also the
// description.
func (c *command) printUsage(w io.Writer, long bool) {
	fmt.Fprintf(w, "usage: kvtool %s %s", c.name, c.args)
	if hasFlags(c.flags) {
		fmt.Fprint(w, " [flags]")
	}
	fmt.Fprintln(w)
	if long {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	if hasFlags(c.flags) {
		fmt.Fprintln(w, "\nflags:")
		printFlags(w, c.flags)
	}
	if !long {
		fmt.Fprintf(w, "run 'kvtool help %s' for more\n", c.name)
	}
}

// printOverview writes the list of commands to w.
func printOverview(w io.Writer) {
	fmt.Fprintf(w, "kvtool reads and writes mapkv database files.\n\n%s\n\ncommands:\n", synopsis)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Flags may come before or after the arguments; "--" ends the flags.
Exit status: 0 success; 1 no (a key not found, a condition not met, damage
found by check); 2 bad usage or any other error; 75 busy (the writer lock was
held, or writers kept changing what a reader read): retry later.
Run 'kvtool help COMMAND' for the details of one command.
`)
}
