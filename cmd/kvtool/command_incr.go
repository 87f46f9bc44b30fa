package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/mapkv/mapkv/kv"
)

func newIncrCommand() *command {
	c := newCommand("incr", "FILE KEY [N]", "add to a counter and print the result", 2, 3)
	c.help = `
Incr adds N (default 1) to the counter stored under KEY and prints the new
value in decimal. N may be negative: kvtool incr db hits -5 (an argument of
"-" and a digit is a number, not a flag). FILE is created if missing.

A counter is either decimal text ("42": what "kvtool put db k 5" stores, and
Redis users expect) or an 8-byte little-endian two's-complement integer (what
kv's Add keeps, so applications and kvtool share it). Incr keeps the form the
key has; an absent or expired key counts as 0 and becomes an 8-byte counter,
the library's form. "kvtool get --int" prints either form in decimal. Both
wrap around on overflow, as kv's Add does.

The addition is atomic, also across processes: concurrent incrs of one key
never lose a step. With --ttl D, a key that this incr creates expires D from
now; a key that exists keeps its expiry, or its lack of one.

A key whose value is neither form is left as it is, and incr exits 2. Incr
prints the sum after the addition is committed: if it exits 2 saying that
printing failed, the addition was done, and running it again adds again.
`
	w := addWriteFlags(c.flags)
	q := addKeyFlags(c.flags)
	ttl := addTTLFlag(c.flags, "expire a key that incr creates after `duration` (300ms, 1h, 1d); 0: never")
	asJSON := c.flags.Bool("json", false, `print {"key":"k","int":N}`)
	c.run = func(e *env, args []string) error {
		key, err := q.key(args[1], "KEY")
		if err != nil {
			return err
		}
		n := "1"
		if len(args) == 3 {
			n = args[2]
		}
		delta, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return usagef("N must be a whole number from %d to %d, not %q", int64(-1<<63), int64(1<<63-1), n)
		}
		d, err := ttl.value()
		if err != nil {
			return err
		}
		db, err := w.open(args[0])
		if err != nil {
			return err
		}
		sum, err := addCounter(db, key, delta, d)
		var nc errNotCounter
		switch {
		case errors.As(err, &nc):
			err = fmt.Errorf("%s: the value of key %s is not a counter: it %v; del the key to start it from 0", args[0], quoteKey(key), nc)
		case err != nil:
			err = w.fail(args[0], db, err)
		}
		if err != nil {
			db.Close()
			return err
		}
		return printSum(e, db, args[0], key, sum, *asJSON)
	}
	return c
}

// printSum prints incr's result and closes db. The addition is committed
// already, so a failure from here on says so: a retry would add again.
func printSum(e *env, db *kv.DB, path string, key []byte, sum int64, asJSON bool) error {
	var err error
	if asJSON {
		r := newJSONRecord(key, kv.NoTTL)
		r.Int = &sum
		err = writeJSON(e.stdout, r)
	} else {
		_, err = fmt.Fprintln(e.stdout, sum)
	}
	cerr := db.Close()
	switch {
	case err != nil:
		return fmt.Errorf("the counter is now %d, but printing it failed (%v): the addition is done, do not retry it", sum, unwrapPath(err))
	case cerr != nil:
		return fmt.Errorf("the counter is now %d, but closing %s failed (%s): the addition is done, do not retry it", sum, path, trimKV(cerr))
	}
	return nil
}
