package main

import (
	"bufio"
	"bytes"
	"strconv"
	"unicode/utf8"
)

func newListCommand() *command {
	c := newCommand("list", "FILE", "list keys, or keys and values", 1, 1)
	c.help = `
List prints the keys of FILE, one per line, in the file's order, which is
unspecified (pipe through sort for a sorted list).

A key that is printable UTF-8 (letters, marks, numbers, punctuation, symbols
and the ASCII space) and does not start with a double quote is printed as it
is. Any other key is printed quoted with Go escapes, as strconv.Quote does:
"a\tb", "\xff\x00", "\"quoted\"". So a line that starts with " is always a
quoted key, and every line names exactly one key.

With --values each line is the key, a tab, and the value, the value under the
same rule. With --json each line is a JSON object in the dump format (see
kvtool help dump), without "value" unless --values is given.
`
	prefix := c.flags.String("prefix", "", "list only keys that start with `P`")
	values := c.flags.Bool("values", false, "print the values too")
	asJSON := c.flags.Bool("json", false, "print JSON lines in the dump format")
	c.run = func(e *env, args []string) error {
		return runList(e, args[0], []byte(*prefix), *values, *asJSON)
	}
	return c
}

func runList(e *env, path string, prefix []byte, values, asJSON bool) error {
	db, err := openRead(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	out := bufio.NewWriter(e.stdout)
	enc := newRecordEncoder(out)
	var line []byte
	err = db.ForEach(func(k, v []byte) error {
		if !bytes.HasPrefix(k, prefix) {
			return nil
		}
		if !values {
			v = nil
		}
		if asJSON {
			return enc.encode(k, v, values, 0)
		}
		line = appendKey(line[:0], k)
		if values {
			line = append(line, '\t')
			line = appendKey(line, v)
		}
		line = append(line, '\n')
		_, err := out.Write(line)
		return err
	})
	// What was read before an error goes out too, as it would have in a
	// larger dump anyway; the exit status says the output is incomplete.
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return fail(path, db, err)
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
