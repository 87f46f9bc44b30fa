package main

import (
	"bytes"
	"flag"
	"strconv"
)

// keyArgs is -q, shared by the commands that take keys: with it, a key
// argument may be in list's quoted form, so that what list prints can be
// passed back (kvtool list db | xargs -d '\n' kvtool del -q db --).
type keyArgs struct{ quoted bool }

func addKeyFlags(fs *flag.FlagSet) *keyArgs {
	k := &keyArgs{}
	fs.BoolVar(&k.quoted, "q", false, `KEY arguments are as list prints them: one that starts with " is unquoted with Go's rules`)
	return k
}

// key returns the key an argument names: as it is, or with -q unquoted when
// it starts with a double quote. An empty key is a usage error. what names
// the argument in messages ("KEY", "--prefix").
func (k *keyArgs) key(arg, what string) ([]byte, error) {
	b, err := k.bytes(arg, what)
	if err == nil && len(b) == 0 {
		err = usagef("%s must not be empty", what)
	}
	return b, err
}

// bytes is key for an argument that may be empty (a value, a prefix).
func (k *keyArgs) bytes(arg, what string) ([]byte, error) {
	if k == nil || !k.quoted || len(arg) == 0 || arg[0] != '"' {
		return []byte(arg), nil
	}
	s, err := strconv.Unquote(arg)
	if err != nil {
		return nil, usagef("%s %s is not a valid quoted string (-q reads list's quoted form, such as \"\\xff\\x00\")", what, arg)
	}
	return []byte(s), nil
}

// keys is key for every argument of args.
func (k *keyArgs) keys(args []string, what string) ([][]byte, error) {
	out := make([][]byte, 0, len(args))
	for _, a := range args {
		b, err := k.key(a, what)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// keyFilter is --prefix and --match: the keys that list, dump and del pick.
type keyFilter struct {
	prefixArg, matchArg string
	prefix              []byte
	match               *glob
}

func addFilterFlags(fs *flag.FlagSet, verb string) *keyFilter {
	f := &keyFilter{}
	fs.StringVar(&f.prefixArg, "prefix", "", verb+" only keys that start with `P`")
	fs.StringVar(&f.matchArg, "match", "", verb+" only keys that match the glob `PATTERN` (*, ?, [a-z], \\ escapes)")
	return f
}

// compile checks the flags, reading them in list's quoted form under -q.
func (f *keyFilter) compile(q *keyArgs) error {
	var err error
	if f.prefix, err = q.bytes(f.prefixArg, "--prefix"); err != nil {
		return err
	}
	if f.matchArg != "" {
		m, err := q.bytes(f.matchArg, "--match")
		if err != nil {
			return err
		}
		if f.match, err = compileGlob(m); err != nil {
			return usagef("--match %s: %v", f.matchArg, err)
		}
	}
	return nil
}

// active reports whether a filter was given.
func (f *keyFilter) active() bool { return f.prefixArg != "" || f.matchArg != "" }

// picks reports whether key passes the filter.
func (f *keyFilter) picks(key []byte) bool {
	return bytes.HasPrefix(key, f.prefix) && (f.match == nil || f.match.matches(key))
}
