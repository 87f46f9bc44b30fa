package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newGetCommand() *command {
	c := newCommand("get", "FILE KEY", "print the value of a key", 2, 2)
	c.reads = true
	c.help = `
Get prints the value stored under KEY. To a pipe or a file it prints the
value byte for byte, so that "kvtool get db k > out" copies binary values
exactly. On a terminal it prints text as it is and anything else (binary,
control characters) quoted with Go escapes, as list prints keys, followed by
a newline; --raw prints the bytes as they are there too.

--int prints a counter in decimal: a value of decimal text ("42"), or the
8-byte little-endian integer that incr and kv's Add keep. A value that is
neither exits 2. --json prints one JSON object: the key and value as dump
writes them, with "ttl_ms" for a key that expires (so "kvtool load" reads it
back); with --int, "int" holds the number instead of the value.

The exit status is 1, with nothing on stdout, when KEY is absent. The file is
opened read-only and never created: a missing FILE is an error (status 2).
`
	q := addKeyFlags(c.flags)
	raw := c.flags.Bool("raw", false, "print the value's bytes as they are, also on a terminal")
	asInt := c.flags.Bool("int", false, "print a counter (decimal text or 8-byte integer) in decimal")
	asJSON := c.flags.Bool("json", false, "print the key, value and TTL as one JSON object")
	c.run = func(e *env, args []string) error {
		key, err := q.key(args[1], "KEY")
		if err != nil {
			return err
		}
		return runGet(e, args[0], key, getOptions{raw: *raw, asInt: *asInt, asJSON: *asJSON})
	}
	return c
}

type getOptions struct{ raw, asInt, asJSON bool }

func runGet(e *env, path string, key []byte, o getOptions) error {
	var v []byte
	ttl := kv.NoTTL
	err := readKey(path, key, func(db *kv.DB, k []byte) (err error) {
		if v, err = db.Get(k); err != nil || !o.asJSON {
			return err
		}
		// A second look: the key may expire or change in between, as in dump.
		ttl, err = db.TTL(k)
		return err
	})
	if err != nil {
		return err
	}
	var n int64
	if o.asInt {
		var ok bool
		if n, ok = readCounter(v); !ok {
			return fmt.Errorf("%s: the value of key %s is not a counter: it %v", path, quoteKey(key), errNotCounter{size: len(v)})
		}
	}
	switch {
	case o.asJSON:
		r := newJSONRecord(key, ttl)
		if o.asInt {
			r.Int = &n
		} else {
			r.Value, r.Value64 = spell(v)
		}
		return writeJSON(e.stdout, r)
	case o.asInt:
		_, err = fmt.Fprintln(e.stdout, n)
	case e.stdoutTTY && !o.raw:
		_, err = e.stdout.Write(displayValue(v))
	default:
		if _, err = e.stdout.Write(v); err == nil && e.stdoutTTY && (len(v) == 0 || v[len(v)-1] != '\n') {
			_, err = e.stdout.Write([]byte{'\n'})
		}
	}
	return err
}

// readKey opens path read-only and runs look on key: the shared part of the
// commands that read one key. An absent key is exit status 1.
func readKey(path string, key []byte, look func(db *kv.DB, key []byte) error) error {
	db, err := openRead(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	err = look(db, key)
	if errors.Is(err, kv.ErrNotFound) {
		return notFound(path, key)
	}
	return fail(path, db, err)
}

// ttlMillis is a TTL in whole milliseconds, rounded up so that a key with
// 0.5 ms left is not taken for one that never expires; nil for kv.NoTTL.
func ttlMillis(ttl time.Duration) *int64 {
	if ttl < 0 {
		return nil
	}
	ms := int64((ttl + time.Millisecond - 1) / time.Millisecond)
	return &ms
}
