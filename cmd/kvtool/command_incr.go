package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newIncrCommand() *command {
	c := newCommand("incr", "FILE KEY [N]", "add to a counter and print the result", 2, 3)
	c.help = `
Incr adds N (default 1) to the counter stored under KEY and prints the new
value in decimal. The counter is the value itself: an 8-byte little-endian
two's-complement integer, as kv's Add keeps it, so "kvtool get" prints those
8 raw bytes. An absent or expired key counts as 0; FILE is created if missing.
N may be negative: kvtool incr db hits -5 (an argument of "-" and a digit is
a number, not a flag). The sum wraps around on overflow.

The addition is atomic, also across processes: concurrent incrs of one key
never lose a step. With --ttl D, a key that this incr creates expires D from
now; a key that exists keeps its expiry, or its lack of one.

A key whose value is not an 8-byte integer (a value put as text, say) is left
as it is, and incr exits 2.
`
	w := addWriteFlags(c.flags)
	ttl := addTTLFlag(c.flags, "expire a key that incr creates after `duration` (300ms, 1h); 0 or less: never")
	c.run = func(e *env, args []string) error {
		n := "1"
		if len(args) == 3 {
			n = args[2]
		}
		return runIncr(e, w, args[0], args[1], n, *ttl)
	}
	return c
}

func runIncr(e *env, w *writeOptions, path, key, n string, ttl time.Duration) error {
	if key == "" {
		return usagef("KEY must not be empty")
	}
	delta, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return usagef("N must be a whole number from %d to %d, not %q", int64(-1<<63), int64(1<<63-1), n)
	}
	db, err := w.open(path)
	if err != nil {
		return err
	}
	sum, err := db.AddTTL([]byte(key), delta, ttl)
	if errors.Is(err, kv.ErrInvalid) {
		// The key is not empty (checked above), so kv refused the value.
		err = notCounter(db, path, []byte(key))
		db.Close()
		return err
	}
	if err != nil {
		err = w.fail(path, db, err)
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return fail(path, nil, err)
	}
	_, err = fmt.Fprintln(e.stdout, sum)
	return err
}

// notCounter explains that key of db holds a value incr cannot add to.
func notCounter(db *kv.DB, path string, key []byte) error {
	size := ""
	// For the message only: the value may have changed since Add saw it.
	if v, err := db.Get(key); err == nil {
		size = fmt.Sprintf(" (it has %d bytes)", len(v))
	}
	return fmt.Errorf("%s: the value of key %s is not an 8-byte little-endian integer%s: incr adds only to such counters; del the key to start it from 0",
		path, quoteKey(key), size)
}
