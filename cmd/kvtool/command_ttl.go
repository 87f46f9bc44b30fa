package main

import (
	"fmt"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newTTLCommand() *command {
	c := newCommand("ttl", "FILE KEY", "print the time a key has left to live", 2, 2)
	c.help = `
TTL prints how long KEY has left before it expires, as a Go duration
rounded to the millisecond (1h59m59.5s, 250ms), or "none" for a key that
never expires.

The exit status is 1, with nothing on stdout, when KEY is absent or has
expired. Like get, ttl opens FILE read-only and never creates it.
`
	c.run = func(e *env, args []string) error {
		return runTTL(e, args[0], args[1])
	}
	return c
}

func runTTL(e *env, path, key string) error {
	var d time.Duration
	err := readKey(path, key, func(db *kv.DB, k []byte) (err error) {
		d, err = db.TTL(k)
		return err
	})
	if err != nil {
		return err
	}
	s := "none"
	if d != kv.NoTTL {
		s = d.String()
	}
	_, err = fmt.Fprintln(e.stdout, s)
	return err
}
