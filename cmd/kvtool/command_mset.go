package main

import (
	"github.com/mapkv/mapkv/kv"
)

func newMsetCommand() *command {
	c := newCommand("mset", "FILE KEY VALUE [KEY VALUE...]", "store several keys in one atomic batch", 3, -1)
	c.help = `
Mset stores each VALUE under the KEY before it, in one atomic batch: another
process sees all of them stored or none. It creates FILE if missing. One
VALUE may be "-", read from stdin. --ttl applies to every key, as for put.
For many keys, or keys from a file, use load.
`
	w := addWriteFlags(c.flags)
	q := addKeyFlags(c.flags)
	ttl := addTTLFlag(c.flags, "expire the keys after `duration` (300ms, 1h, 1d); 0: never")
	c.run = func(e *env, args []string) error {
		pairs := args[1:]
		if len(pairs)%2 != 0 {
			return usagef("missing VALUE for KEY %s", pairs[len(pairs)-1])
		}
		d, err := ttl.value()
		if err != nil {
			return err
		}
		var keys, values [][]byte
		stdin := false
		for i := 0; i < len(pairs); i += 2 {
			k, err := q.key(pairs[i], "KEY")
			if err != nil {
				return err
			}
			if pairs[i+1] == "-" {
				if stdin {
					return usagef(`only one VALUE may be "-" (stdin)`)
				}
				stdin = true
			}
			v, err := valueArg(e, q, pairs[i+1])
			if err != nil {
				return err
			}
			keys, values = append(keys, k), append(values, v)
		}
		db, err := w.open(args[0])
		if err != nil {
			return err
		}
		err = db.Update(func(tx *kv.Tx) error {
			for i := range keys {
				if err := tx.PutTTL(keys[i], values[i], d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			err = w.fail(args[0], db, err)
			db.Close()
			return err
		}
		return fail(args[0], nil, db.Close())
	}
	return c
}
