package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// errHelp is returned by parseArgs for -h, -help or --help.
var errHelp = flag.ErrHelp

// parseArgs parses args against fs and returns the positional arguments in
// order. Unlike fs.Parse, which stops at the first positional argument, it
// accepts flags anywhere, so "kvtool put F K V --sync" and "kvtool put --sync
// F K V" mean the same. "--" ends the flags; a lone "-" is positional (put
// reads the value from stdin), and so is "-" followed by a digit, a negative
// number (incr's N), unless the command has a flag of that name (list's -0);
// any other argument that starts with "-" is a flag, so a key like "-x" needs
// "--" before it.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || '0' <= a[1] && a[1] <= '9' && fs.Lookup(a[1:]) == nil {
			pos = append(pos, a)
			continue
		}
		dashes := "-"
		if strings.HasPrefix(a, "--") {
			dashes = "--"
		}
		name, value, hasValue := strings.Cut(a[len(dashes):], "=")
		if name == "h" || name == "help" {
			return nil, errHelp
		}
		f := fs.Lookup(name)
		if f == nil || name == "" || name[0] == '-' {
			msg := fmt.Sprintf("unknown flag %s", a)
			if s := suggest(name, flagNames(fs)); s != "" {
				msg += fmt.Sprintf(": did you mean %s?", flagSpelling(s))
			}
			return nil, usagef("%s", msg)
		}
		switch {
		case hasValue:
		case isBool(f):
			value = "true"
		case i+1 < len(args):
			// A flag that is not boolean takes the next argument as its
			// value, even one that starts with "-" (--prefix -x), as the flag
			// package does.
			i++
			value = args[i]
		default:
			return nil, usagef("flag %s needs a value", flagSpelling(name))
		}
		if err := fs.Set(name, value); err != nil {
			return nil, usagef("%s %s: %v", flagSpelling(name), value, err)
		}
	}
	return pos, nil
}

// flagSpelling is how help spells flag name: "-q" and "-0" for one letter,
// "--name" otherwise.
func flagSpelling(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func hasFlags(fs *flag.FlagSet) bool {
	return len(flagNames(fs)) > 0
}

// printFlags writes one line per flag of fs to w, GNU style ("--name VALUE").
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		left := flagSpelling(f.Name)
		if !isBool(f) {
			left += " " + strings.ToUpper(kind)
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %-24s %s\n", left, usage)
	})
}
