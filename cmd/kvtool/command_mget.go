package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/mapkv/mapkv/kv"
)

func newMgetCommand() *command {
	c := newCommand("mget", "FILE KEY...", "print the values of several keys, one per line", 2, -1)
	c.reads = true
	c.help = `
Mget prints the value of each KEY on a line of its own, in the order given,
each under list's quoting rule (text as it is, anything else quoted with Go
escapes; an empty value is ""), so that every value is one line. An absent
key prints an empty line: mget then exits 1 and names the absent keys on
stderr. With --json each present key prints a JSON object as get --json does
(load reads them back); absent keys print nothing.

Each key is read on its own, without a lock: a writer's atomic batch may land
between two of them.
`
	q := addKeyFlags(c.flags)
	asJSON := c.flags.Bool("json", false, "print one JSON object per present key")
	c.run = func(e *env, args []string) error {
		keys, err := q.keys(args[1:], "KEY")
		if err != nil {
			return err
		}
		return runMget(e, args[0], keys, *asJSON)
	}
	return c
}

func runMget(e *env, path string, keys [][]byte, asJSON bool) error {
	db, err := openRead(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	out := bufio.NewWriter(e.stdout)
	var absent []string
	var line []byte
	for _, k := range keys {
		v, err := db.Get(k)
		ttl := kv.NoTTL
		if err == nil && asJSON {
			ttl, err = db.TTL(k)
		}
		switch {
		case errors.Is(err, kv.ErrNotFound):
			absent = append(absent, quoteKey(k))
			if !asJSON {
				err = out.WriteByte('\n')
			} else {
				err = nil
			}
		case err != nil:
			out.Flush()
			return fail(path, db, err)
		case asJSON:
			r := newJSONRecord(k, ttl)
			r.Value, r.Value64 = spell(v)
			err = writeJSON(out, r)
		default:
			line = append(appendKey(line[:0], v), '\n')
			_, err = out.Write(line)
		}
		if err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if len(absent) > 0 {
		return &statusError{status: exitFalse, msg: fmt.Sprintf("%s not found in %s: %s",
			plural(int64(len(absent)), "key"), path, strings.Join(absent, " "))}
	}
	return nil
}
