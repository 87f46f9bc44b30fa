// Command kvtool reads and writes mapkv database files from the shell.
//
// Usage:
//
//	kvtool COMMAND FILE [ARGUMENTS] [FLAGS]
//
// Every command names the database file first, like bbolt and mdb_stat do.
// Flags may come before or after the other arguments. The exit status is
// grep's: 0 on success, 1 when get or ttl finds no key or check finds damage,
// 2 for bad usage and every other error. docs/cli.md documents each command, its
// output, and the dump format.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit statuses, as grep's, so shell scripts can tell "no" from "failed".
const (
	exitOK    = 0 // success
	exitFalse = 1 // get or ttl found no such key; check found damage
	exitError = 2 // bad usage or any other error
)

// env is the process's world as the commands see it. Commands never touch
// os.Stdin and friends directly, so the terminal checks live in one place.
type env struct {
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	stdoutTTY bool // stdout is a terminal: get ends the value with a newline
	stderrTTY bool // stderr is a terminal: snapshot shows its progress
}

func main() {
	e := &env{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
	os.Exit(run(e, os.Args[1:]))
}

// run runs the command line args (without the program name) and returns the
// exit status.
func run(e *env, args []string) int {
	if len(args) == 0 {
		printOverview(e.stderr)
		return exitError
	}
	name, args := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(e.stderr, "kvtool: unknown command %q: run 'kvtool help' for the list\n", name)
		return exitError
	}
	return c.execute(e, args)
}

// execute parses args for c, runs it, and turns its error into a message on
// stderr and an exit status.
func (c *command) execute(e *env, args []string) int {
	pos, err := parseArgs(c.flags, args)
	if errors.Is(err, errHelp) {
		c.printUsage(e.stdout, true)
		return exitOK
	}
	if err == nil {
		err = c.checkArgs(pos)
	}
	if err == nil {
		err = c.run(e, pos)
	}
	return c.report(e, err)
}

// report writes the one line that explains err to stderr and returns the exit
// status err calls for.
func (c *command) report(e *env, err error) int {
	var ue *usageError
	var se *statusError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "kvtool %s: %s\n", c.name, ue.msg)
		c.printUsage(e.stderr, false)
		return exitError
	case errors.As(err, &se):
		if se.msg != "" {
			fmt.Fprintf(e.stderr, "kvtool: %s: %s\n", c.name, se.msg)
		}
		return se.status
	default:
		fmt.Fprintf(e.stderr, "kvtool: %s: %s\n", c.name, explain(err))
		return exitError
	}
}
