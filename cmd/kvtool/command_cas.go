package main

import (
	"fmt"

	"github.com/mapkv/mapkv/kv"
)

func newCasCommand() *command {
	c := newCommand("cas", "FILE KEY OLD NEW", "store NEW only if the key holds OLD (compare and swap)", 4, 4)
	c.help = `
Cas stores NEW under KEY only if KEY's value is OLD, byte for byte, atomically
across processes (kv's CompareAndSwap). It keeps the key's expiry. If the
value differs, or the key is absent, nothing changes and cas exits 1. NEW "-"
reads the new value from stdin; with -q, OLD and NEW may be in list's quoted
form. --absent instead of OLD stores NEW only if the key is absent (as add).

Unlike memcached's cas, which compares a version token, this compares the
value itself: read it with get, compute, then cas; on exit 1 read again.
`
	w := addWriteFlags(c.flags)
	q := addKeyFlags(c.flags)
	c.run = func(e *env, args []string) error {
		key, err := q.key(args[1], "KEY")
		if err != nil {
			return err
		}
		old, err := q.bytes(args[2], "OLD")
		if err != nil {
			return err
		}
		old = append([]byte{}, old...) // not nil: nil would mean "only if absent"
		v, err := valueArg(e, q, args[3])
		if err != nil {
			return err
		}
		db, err := w.open(args[0])
		if err != nil {
			return err
		}
		ok, err := db.CompareAndSwap(key, old, v, kv.KeepTTL)
		if err != nil {
			err = w.fail(args[0], db, err)
			db.Close()
			return err
		}
		if err := db.Close(); err != nil {
			return fail(args[0], nil, err)
		}
		if !ok {
			return &statusError{status: exitFalse, msg: fmt.Sprintf("key %s does not hold OLD (or is absent): not stored", quoteKey(key))}
		}
		return nil
	}
	return c
}
