package main

import (
	"fmt"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newTTLCommand() *command {
	c := newCommand("ttl", "FILE KEY", "print the time a key has left to live", 2, 2)
	c.reads = true
	c.help = `
TTL prints how long KEY has left before it expires, as a Go duration
rounded to the millisecond (1h59m59.5s, 250ms), or "none" for a key that
never expires. --ms prints whole milliseconds instead, rounded up, and -1 for
a key that never expires, like Redis's PTTL. --json prints
{"key":"k","ttl_ms":1500}, with "ttl_ms":null for a key that never expires.

The exit status is 1, with nothing on stdout, when KEY is absent or has
expired. Like get, ttl opens FILE read-only and never creates it.
`
	q := addKeyFlags(c.flags)
	ms := c.flags.Bool("ms", false, "print whole milliseconds, -1 for none (like PTTL)")
	asJSON := c.flags.Bool("json", false, "print one JSON object")
	c.run = func(e *env, args []string) error {
		key, err := q.key(args[1], "KEY")
		if err != nil {
			return err
		}
		return runTTL(e, args[0], key, *ms, *asJSON)
	}
	return c
}

func runTTL(e *env, path string, key []byte, ms, asJSON bool) error {
	var d time.Duration
	err := readKey(path, key, func(db *kv.DB, k []byte) (err error) {
		d, err = db.TTL(k)
		return err
	})
	if err != nil {
		return err
	}
	if asJSON {
		r := struct {
			*record
			TTLms *int64 `json:"ttl_ms"` // null: never expires
		}{newJSONRecord(key, kv.NoTTL), ttlMillis(d)}
		return writeJSON(e.stdout, r)
	}
	var s string
	switch {
	case ms && d == kv.NoTTL:
		s = "-1"
	case ms:
		s = fmt.Sprint(*ttlMillis(d))
	case d == kv.NoTTL:
		s = "none"
	default:
		s = d.Round(time.Millisecond).String()
	}
	_, err = fmt.Fprintln(e.stdout, s)
	return err
}
