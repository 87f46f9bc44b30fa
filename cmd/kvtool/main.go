// Command kvtool reads and writes mapkv database files from the shell.
//
// Usage:
//
//	kvtool COMMAND FILE [ARGUMENTS] [FLAGS]
//
// Every command names the database file first, like bbolt and mdb_stat do.
// Flags may come before or after the other arguments. The exit status is
// grep's: 0 on success, 1 for a "no" (a key not found, a condition not met,
// damage found by check), 2 for bad usage and every other error, and 75
// (EX_TEMPFAIL) when the writer lock was busy or readers kept being
// overtaken by writers: retrying later may succeed. docs/cli.md documents
// each command, its output, and the dump format.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses, as grep's, so shell scripts can tell "no" from "failed",
// and sysexits.h's EX_TEMPFAIL for "try again".
const (
	exitOK       = 0  // success
	exitFalse    = 1  // a key not found, a condition not met, damage found
	exitError    = 2  // bad usage or any other error
	exitTempFail = 75 // the writer lock was busy, or a reader ran out of retries
)

// env is the process's world as the commands see it. Commands never touch
// os.Stdin and friends directly, so the terminal checks live in one place.
type env struct {
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	stdoutTTY bool // stdout is a terminal: get escapes binary values and ends them with a newline
	stderrTTY bool // stderr is a terminal: snapshot shows its progress
}

func main() {
	out := &stickyWriter{w: os.Stdout}
	e := &env{
		stdin:     os.Stdin,
		stdout:    out,
		stderr:    os.Stderr,
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
	code := run(e, os.Args[1:])
	if code == exitOK && out.err != nil {
		// A command that printed into a full disk or a closed descriptor
		// did not do its job, even if it ignored the error itself.
		fmt.Fprintf(os.Stderr, "kvtool: writing to stdout: %v\n", unwrapPath(out.err))
		code = exitError
	}
	os.Exit(code)
}

// stickyWriter remembers the first error of its writer, so that main can fail
// a command whose output was lost (stdout on /dev/full, say).
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}

// unwrapPath drops the "write /dev/stdout: " of an *os.PathError.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
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
		msg := fmt.Sprintf("kvtool: unknown command %q", name)
		if s := suggest(name, commandNames()); s != "" {
			msg += fmt.Sprintf(": did you mean %q?", s)
		}
		fmt.Fprintf(e.stderr, "%s\n%s\nrun 'kvtool help' for the list of commands\n", msg, synopsis)
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
	}
	fmt.Fprintf(e.stderr, "kvtool: %s: %s\n", c.name, strings.TrimSpace(explain(err)))
	if temporary(err) {
		return exitTempFail
	}
	return exitError
}
