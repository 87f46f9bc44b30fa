package main

import (
	"fmt"
	"io"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newPutCommand() *command {
	c := newCommand("put", "FILE KEY VALUE", "store a value under a key", 3, 3)
	c.help = `
Put stores VALUE under KEY, replacing any value and expiry the key had, and
creates FILE if it does not exist. A VALUE of "-" reads the value from stdin,
byte for byte, for binary values or values too long for the command line (up
to 64 MiB). Keys that start with "-" go after "--": kvtool put db -- -k v. To
store the one-byte value "-", pipe it: printf - | kvtool put db k -.

With --ttl D the key expires D from now (300ms, 90s, 1h, 1d), rounded up to
the millisecond; without it, or with D of 0, it never expires. A negative D
is refused. An expired key is gone
for every reader at once; "kvtool ttl" shows the time a key has left.

When another process holds the writer lock, put waits up to --lock-timeout,
then fails. A failed put (full file, value too large, lock not taken) exits 2
and says why.
`
	w := addWriteFlags(c.flags)
	q := addKeyFlags(c.flags)
	ttl := addTTLFlag(c.flags, "expire the key after `duration` (300ms, 1h, 1d); 0: never")
	c.run = func(e *env, args []string) error {
		key, err := q.key(args[1], "KEY")
		if err != nil {
			return err
		}
		d, err := ttl.value()
		if err != nil {
			return err
		}
		return runPut(e, w, q, args[0], key, args[2], d)
	}
	return c
}

func runPut(e *env, w *writeOptions, q *keyArgs, path string, key []byte, value string, ttl time.Duration) error {
	v, err := valueArg(e, q, value)
	if err != nil {
		return err
	}
	db, err := w.open(path)
	if err != nil {
		return err
	}
	// PutTTL with ttl 0 is Put: no expiry.
	if err := db.PutTTL(key, v, ttl); err != nil {
		err = w.fail(path, db, err)
		db.Close()
		return err
	}
	return fail(path, nil, db.Close())
}

// valueArg returns the value an argument gives: stdin for "-", else the
// argument, in list's quoted form under -q.
func valueArg(e *env, q *keyArgs, arg string) ([]byte, error) {
	if arg == "-" {
		return readValue(e.stdin)
	}
	return q.bytes(arg, "VALUE")
}

// readValue reads a value from r, refusing more than kv.MaxValueSize bytes
// before it has read them all into memory.
func readValue(r io.Reader) ([]byte, error) {
	v, err := io.ReadAll(io.LimitReader(r, kv.MaxValueSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the value from stdin: %w", err)
	}
	if len(v) > kv.MaxValueSize {
		return nil, fmt.Errorf("the value on stdin is longer than %s, the most a value may hold", formatSize(kv.MaxValueSize))
	}
	return v, nil
}
