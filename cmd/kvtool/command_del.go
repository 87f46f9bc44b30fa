package main

import (
	"bytes"
	"fmt"

	"github.com/mapkv/mapkv/kv"
)

func newDelCommand() *command {
	c := newCommand("del", "FILE KEY...", "delete keys, or the keys a prefix or glob picks", 1, -1)
	c.help = `
Del deletes every KEY from FILE in one atomic batch: another process sees
either all of them or none deleted. A key that is absent is not an error, so
del exits 0 whether or not the keys existed, like rm -f. FILE must exist.

--prefix P and --match PATTERN (a glob, as for list) delete every key they
pick instead of KEYs, in batches of up to 1000 keys, each batch atomic: every
key picked when del starts is gone when it returns; a key written meanwhile
may stay. --count prints how many keys del deleted (that were present).

To delete what list printed: kvtool list -0 db | xargs -0 kvtool del db --,
or with list's quoted form, xargs -d '\n' kvtool del -q db --.
`
	w := addWriteFlags(c.flags)
	q := addKeyFlags(c.flags)
	filter := addFilterFlags(c.flags, "delete")
	count := c.flags.Bool("count", false, "print the number of keys deleted")
	asJSON := c.flags.Bool("json", false, `with --count, print {"deleted":N}`)
	c.run = func(e *env, args []string) error {
		if err := filter.compile(q); err != nil {
			return err
		}
		var n int64
		var err error
		switch {
		case filter.active() && len(args) > 1:
			return usagef("give KEYs or --prefix/--match, not both")
		case filter.active():
			n, err = delMatching(w, args[0], filter)
		case len(args) == 1:
			return usagef("missing KEY (or --prefix P, --match PATTERN)")
		default:
			keys, kerr := q.keys(args[1:], "KEY")
			if kerr != nil {
				return kerr
			}
			n, err = delKeys(w, args[0], keys)
		}
		if err != nil || !*count {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, struct {
				Deleted int64 `json:"deleted"`
			}{n})
		}
		_, err = fmt.Fprintln(e.stdout, n)
		return err
	}
	return c
}

// delKeys deletes keys from path in one batch and returns how many were
// present.
func delKeys(w *writeOptions, path string, keys [][]byte) (int64, error) {
	db, err := w.openExisting(path)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.Update(func(tx *kv.Tx) error {
		n = 0
		for _, k := range keys {
			if _, err := tx.Get(k); err == nil {
				n++
			}
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		err = w.fail(path, db, err)
		db.Close()
		return 0, err
	}
	return n, fail(path, nil, db.Close())
}

// delBatch is how many keys one of del --prefix's transactions deletes.
const delBatch = 1000

// delMatching deletes the keys filter picks, in batches, and returns how many
// it deleted. It lists them first without the lock, so that writers wait only
// for the deletions.
func delMatching(w *writeOptions, path string, filter *keyFilter) (int64, error) {
	db, err := w.openExisting(path)
	if err != nil {
		return 0, err
	}
	var keys [][]byte
	err = db.ForEach(func(k, _ []byte) error {
		if filter.picks(k) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	var n int64
	for len(keys) > 0 && err == nil {
		batch := keys[:min(delBatch, len(keys))]
		keys = keys[len(batch):]
		var done int64
		err = db.Update(func(tx *kv.Tx) error {
			for _, k := range batch {
				if _, err := tx.Get(k); err == nil {
					done++
				}
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			n += done
		}
	}
	if err != nil {
		err = w.fail(path, db, err)
		if n > 0 {
			err = fmt.Errorf("deleted %s, then: %w", plural(n, "key"), err)
		}
		db.Close()
		return n, err
	}
	return n, fail(path, nil, db.Close())
}
