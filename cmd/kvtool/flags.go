package main

import (
	"errors"
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
// number (incr's N) since no flag name starts with a digit; any other argument
// that starts with "-" is a flag, so a key like "-x" needs "--" before it.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || '0' <= a[1] && a[1] <= '9' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		// A flag that is not boolean takes the next argument as its value,
		// even one that starts with "-" (--prefix -x), as the flag package does.
		if f := fs.Lookup(name); f != nil && !hasValue && !isBool(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	// flags now holds flags and their values only, so Parse consumes it all.
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, &usageError{msg: err.Error()}
	}
	return pos, nil
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// printFlags writes one line per flag of fs to w, GNU style ("--name VALUE").
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if !isBool(f) {
			left += " " + strings.ToUpper(kind)
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %-24s %s\n", left, usage)
	})
}
