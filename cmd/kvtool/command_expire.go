package main

import (
	"errors"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newExpireCommand() *command {
	c := newCommand("expire", "FILE KEY DURATION", "make a key expire after a time", 3, 3)
	c.help = `
Expire makes KEY expire DURATION from now (300ms, 90s, 1h, 1d, rounded up to
the millisecond), replacing any expiry it had; its value stays (kv's Expire,
Redis's EXPIRE). DURATION must be positive: persist removes an expiry. An
absent or expired key exits 1. FILE must exist.
`
	w := addWriteFlags(c.flags)
	q := addKeyFlags(c.flags)
	c.run = func(e *env, args []string) error {
		key, err := q.key(args[1], "KEY")
		if err != nil {
			return err
		}
		d, err := parseDuration(args[2])
		if err == nil && d <= 0 {
			return usagef("DURATION must be positive (%s): to remove an expiry, use persist", args[2])
		}
		if err == nil {
			d, err = checkTTL(d)
		}
		if err != nil {
			return usagef("DURATION %s: %v", args[2], err)
		}
		return setExpiry(w, args[0], key, d)
	}
	return c
}

func newPersistCommand() *command {
	c := newCommand("persist", "FILE KEY", "remove a key's expiry", 2, 2)
	c.help = `
Persist removes KEY's expiry, so that it never expires; its value stays
(Redis's PERSIST). A key without an expiry is left as it is. An absent or
expired key exits 1. FILE must exist.
`
	w := addWriteFlags(c.flags)
	q := addKeyFlags(c.flags)
	c.run = func(e *env, args []string) error {
		key, err := q.key(args[1], "KEY")
		if err != nil {
			return err
		}
		return setExpiry(w, args[0], key, 0)
	}
	return c
}

// setExpiry gives key of path the expiry ttl (0: none), exit status 1 for an
// absent key.
func setExpiry(w *writeOptions, path string, key []byte, ttl time.Duration) error {
	db, err := w.openExisting(path)
	if err != nil {
		return err
	}
	err = db.Expire(key, ttl)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		db.Close()
		return notFound(path, key)
	case err != nil:
		err = w.fail(path, db, err)
		db.Close()
		return err
	}
	return fail(path, nil, db.Close())
}
