package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

func newListCommand() *command {
	c := newCommand("list", "FILE", "list keys, or keys and values", 1, 1)
	c.reads = true
	c.help = `
List prints the keys of FILE, one per line, in the file's order, which is
unspecified (pipe through sort for a sorted list).

A key that is printable UTF-8 (letters, marks, numbers, punctuation, symbols
and the ASCII space) and does not start with a double quote is printed as it
is. Any other key is printed quoted with Go escapes, as strconv.Quote does:
"a\tb", "\xff\x00", "\"quoted\"". So a line that starts with " is always a
quoted key, and every line names exactly one key. The commands that take
keys read this form back with -q:

  kvtool list db --prefix tmp: | xargs -d '\n' kvtool del -q db --

-0 prints each key as it is, raw, followed by a zero byte instead of a
newline, for xargs -0 (kvtool list -0 db | xargs -0 kvtool del db --). A key
that holds a zero byte cannot be an argument; -0 prints it quoted and says
so on stderr.

--prefix P and --match PATTERN pick the keys (both: those that pass both);
PATTERN is a glob as Redis's SCAN MATCH takes it: * any run of characters,
? one character, [abc], [a-z] or [^a-z] one of a set, \ before a character
takes it literally. --count prints only the number of keys picked.

With --values each line is the key, a tab, and the value, the value under the
same rule (with -0: key, zero byte, value, zero byte). With --json each line
is a JSON object in the dump format (see kvtool help dump), without "value"
unless --values is given; with --count, {"count":N}.
`
	q := addKeyFlags(c.flags)
	filter := addFilterFlags(c.flags, "list")
	values := c.flags.Bool("values", false, "print the values too")
	asJSON := c.flags.Bool("json", false, "print JSON lines in the dump format")
	nul := c.flags.Bool("0", false, "print raw keys, each followed by a zero byte (for xargs -0)")
	count := c.flags.Bool("count", false, "print only the number of keys")
	c.run = func(e *env, args []string) error {
		if err := filter.compile(q); err != nil {
			return err
		}
		if *nul && *asJSON {
			return usagef("-0 and --json do not go together: choose one")
		}
		return runList(e, args[0], filter, listOptions{values: *values, asJSON: *asJSON, nul: *nul, count: *count})
	}
	return c
}

type listOptions struct{ values, asJSON, nul, count bool }

func runList(e *env, path string, filter *keyFilter, o listOptions) error {
	db, err := openRead(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	out := bufio.NewWriter(e.stdout)
	enc := newRecordEncoder(out)
	var line []byte
	var n, withZero int64
	err = db.ForEach(func(k, v []byte) error {
		if !filter.picks(k) {
			return nil
		}
		n++
		if o.count {
			return nil
		}
		if !o.values {
			v = nil
		}
		switch {
		case o.asJSON:
			return enc.encode(k, v, o.values, 0)
		case o.nul:
			line = line[:0]
			for i, b := range [][]byte{k, v}[:1+btoi(o.values)] {
				if bytes.IndexByte(b, 0) >= 0 {
					if i == 0 {
						withZero++
					}
					line = appendKey(line, b)
				} else {
					line = append(line, b...)
				}
				line = append(line, 0)
			}
		default:
			line = appendKey(line[:0], k)
			if o.values {
				line = append(line, '\t')
				line = appendKey(line, v)
			}
			line = append(line, '\n')
		}
		_, err := out.Write(line)
		return err
	})
	if err == nil && o.count {
		if o.asJSON {
			err = writeJSON(out, struct {
				Count int64 `json:"count"`
			}{n})
		} else {
			_, err = fmt.Fprintln(out, n)
		}
	}
	// What was read before an error goes out too, as it would have in a
	// larger dump anyway; the exit status says the output is incomplete.
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err == nil && withZero > 0 {
		fmt.Fprintf(e.stderr, "kvtool: list: %s with a zero byte printed quoted: a zero byte cannot be in an argument (pass them back with -q)\n",
			plural(withZero, "key"))
	}
	return fail(path, db, err)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendKey appends k to b under list's rule: as it is when it is printable
// UTF-8 that does not start with a double quote, quoted with Go escapes
// otherwise, so that every output line is unambiguous.
func appendKey(b, k []byte) []byte {
	if printable(k) {
		return append(b, k...)
	}
	return strconv.AppendQuote(b, string(k))
}

// quoteKey returns k under list's rule, for messages.
func quoteKey(k []byte) string { return string(appendKey(nil, k)) }

// printable reports whether k is shown as it is: valid UTF-8, every rune
// printable in strconv.IsPrint's sense (no tabs, newlines or other controls;
// the ASCII space is the only space), not empty, and not starting with '"'.
func printable(k []byte) bool {
	if len(k) == 0 || k[0] == '"' {
		return false
	}
	for len(k) > 0 {
		r, n := utf8.DecodeRune(k)
		if r == utf8.RuneError && n == 1 || !strconv.IsPrint(r) {
			return false
		}
		k = k[n:]
	}
	return true
}
