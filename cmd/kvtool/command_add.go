package main

import (
	"fmt"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newAddCommand() *command {
	c := newCommand("add", "FILE KEY VALUE", "store a value only if the key is absent (SET NX)", 3, 3)
	c.help = `
Add stores VALUE under KEY only if KEY is absent or expired, atomically
across processes (kv's PutIfAbsent; Redis's SET NX, memcached's add). If the
key is present, nothing changes and add exits 1. FILE is created if missing.
VALUE "-" reads the value from stdin, as put does; --ttl as for put.

A lock whose owner is written down: kvtool add db lock:job $$ --ttl 30s.
`
	return newConditionalPut(c, func(db *kv.DB, k, v []byte, o condOptions) (bool, error) {
		return db.PutIfAbsent(k, v, o.ttl)
	}, "is present: not stored")
}

func newReplaceCommand() *command {
	c := newCommand("replace", "FILE KEY VALUE", "store a value only if the key is present (SET XX)", 3, 3)
	c.help = `
Replace stores VALUE under KEY only if KEY is present and not expired,
atomically across processes (kv's Replace; Redis's SET XX, memcached's
replace), with the expiry --ttl gives (none without it, as put). If the key
is absent, nothing changes and replace exits 1. FILE must exist. VALUE "-"
reads the value from stdin.
`
	return newConditionalPut(c, func(db *kv.DB, k, v []byte, o condOptions) (bool, error) {
		return db.Replace(k, v, o.ttl)
	}, "is absent: not stored")
}

type condOptions struct{ ttl time.Duration }

// newConditionalPut finishes add and replace: store does the write and
// reports whether it happened; if not, the command exits 1 with the key and
// why.
func newConditionalPut(c *command, store func(db *kv.DB, k, v []byte, o condOptions) (bool, error), refused string) *command {
	w := addWriteFlags(c.flags)
	q := addKeyFlags(c.flags)
	ttl := addTTLFlag(c.flags, "expire the key after `duration` (300ms, 1h, 1d); 0: never")
	create := c.name == "add"
	c.run = func(e *env, args []string) error {
		key, err := q.key(args[1], "KEY")
		if err != nil {
			return err
		}
		d, err := ttl.value()
		if err != nil {
			return err
		}
		v, err := valueArg(e, q, args[2])
		if err != nil {
			return err
		}
		open := w.openExisting
		if create {
			open = w.open
		}
		db, err := open(args[0])
		if err != nil {
			return err
		}
		ok, err := store(db, key, v, condOptions{ttl: d})
		if err != nil {
			err = w.fail(args[0], db, err)
			db.Close()
			return err
		}
		if err := db.Close(); err != nil {
			return fail(args[0], nil, err)
		}
		if !ok {
			return &statusError{status: exitFalse, msg: fmt.Sprintf("key %s %s", quoteKey(key), refused)}
		}
		return nil
	}
	return c
}
