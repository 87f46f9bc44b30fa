package main

import (
	"errors"
	"io"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newLoadCommand() *command {
	c := newCommand("load", "FILE", "store records read as JSON lines from stdin", 1, 1)
	c.help = `
Load reads records in the dump format from stdin (see kvtool help dump) and
stores them in FILE, creating it if missing. A key that FILE already has gets
the loaded value, and its expiry: a record with "ttl_ms" expires that many
milliseconds after load stores it, a record without it never does. Other keys
stay. Blank lines are skipped.

Records are stored in atomic batches of up to 1000 records (fewer when the
values are large). On a line that is not a valid record, load stores every
record before that line, stores none after it, and exits 2 naming the line.
`
	w := addWriteFlags(c.flags)
	c.run = func(e *env, args []string) error {
		return runLoad(e, w, args[0])
	}
	return c
}

// Load commits a batch when it holds this many records or bytes: big enough
// that the writer lock is taken rarely, small enough that a batch neither
// holds the lock for long nor needs much memory.
const (
	loadBatchRecords = 1000
	loadBatchBytes   = 16 << 20
)

func runLoad(e *env, w *writeOptions, path string) error {
	db, err := w.open(path)
	if err != nil {
		return err
	}
	type pair struct {
		k, v []byte
		ttl  time.Duration // 0: never expires
	}
	var batch []pair
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := db.Update(func(tx *kv.Tx) error {
			for _, p := range batch {
				if err := tx.PutTTL(p.k, p.v, p.ttl); err != nil {
					return err
				}
			}
			return nil
		})
		batch, size = batch[:0], 0
		return err
	}
	dec := newRecordDecoder(e.stdin)
	for {
		k, v, ttl, derr := dec.next()
		if derr != nil {
			// Store what came before a bad line, as the help promises.
			if err := flush(); err != nil {
				derr = w.fail(path, db, err)
			} else if errors.Is(derr, io.EOF) {
				derr = nil
			}
			if err := db.Close(); derr == nil {
				derr = fail(path, nil, err)
			}
			return derr
		}
		batch = append(batch, pair{k, v, ttl})
		size += len(k) + len(v)
		if len(batch) >= loadBatchRecords || size >= loadBatchBytes {
			if err := flush(); err != nil {
				err = w.fail(path, db, err)
				db.Close()
				return err
			}
		}
	}
}
