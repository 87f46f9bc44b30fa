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
	maxArgs int // -1: no limit
	flags   *flag.FlagSet
	run     func(e *env, args []string) error
}

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
		newPutCommand(),
		newDelCommand(),
		newIncrCommand(),
		newTTLCommand(),
		newListCommand(),
		newStatCommand(),
		newCheckCommand(),
		newSnapshotCommand(),
		newDumpCommand(),
		newLoadCommand(),
		newWatchCommand(),
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
	fmt.Fprint(w, `kvtool reads and writes mapkv database files.

usage: kvtool COMMAND FILE [ARGUMENTS] [FLAGS]

commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Flags may come before or after the arguments; "--" ends the flags.
Exit status: 0 success, 1 key not found (get, ttl) or damage found (check),
2 bad usage or any other error.
Run 'kvtool help COMMAND' for the details of one command.
`)
}
