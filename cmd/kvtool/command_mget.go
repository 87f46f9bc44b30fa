package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func newMgetCommand() *command {
	c := newCommand("mget", "FILE KEY...", "print the values of several keys, one per line", 2, -1)
	c.reads = true
	c.help = `
Mget prints the value of each KEY on a line of its own, in the order given,
each under list's quoting rule (text as it is, anything else quoted with Go
escapes; an empty value is ""), so that every value is one line. An absent
key prints an empty line: mget then exits 1 and names the absent keys on
stderr. With --json each present key prints a JSON object as get --json does
(load reads them back); absent keys print nothing.

The keys are read together, as of one commit (kv's View): another process's
atomic batch is seen whole or not at all. Mget takes no lock unless writers
commit so fast that its reads keep being overtaken; then it holds the writer
lock for one pass, waiting for it up to --lock-timeout.
`
	q := addKeyFlags(c.flags)
	asJSON := c.flags.Bool("json", false, "print one JSON object per present key")
	lock := addLockFlag(c.flags)
	c.run = func(e *env, args []string) error {
		keys, err := q.keys(args[1:], "KEY")
		if err != nil {
			return err
		}
		return runMget(e, args[0], keys, *asJSON, lock)
	}
	return c
}

// mgot is what mget read of one key.
type mgot struct {
	v   []byte
	ttl time.Duration
	err error // nil or kv.ErrNotFound
}

// readMany reads keys as of one commit. View may run its fn more than once,
// so fn only fills got, which the last run leaves complete.
func readMany(db *kv.DB, keys [][]byte, ttls bool) ([]mgot, error) {
	got := make([]mgot, len(keys))
	err := db.View(func(tx *kv.ReadTx) error {
		for i, k := range keys {
			v, err := tx.Get(k)
			ttl := kv.NoTTL
			if err == nil && ttls {
				ttl, err = tx.TTL(k)
			}
			if err != nil && !errors.Is(err, kv.ErrNotFound) {
				return err
			}
			got[i] = mgot{v, ttl, err}
		}
		return nil
	})
	return got, err
}

func runMget(e *env, path string, keys [][]byte, asJSON bool, lock *lockOption) error {
	db, err := openRead(path, lock)
	if err != nil {
		return err
	}
	defer db.Close()
	got, err := readMany(db, keys, asJSON)
	if err != nil {
		return lock.fail(path, db, err)
	}
	out := bufio.NewWriter(e.stdout)
	var absent []string
	var line []byte
	for i, k := range keys {
		v, ttl, err := got[i].v, got[i].ttl, got[i].err
		switch {
		case errors.Is(err, kv.ErrNotFound):
			absent = append(absent, quoteKey(k))
			if !asJSON {
				err = out.WriteByte('\n')
			} else {
				err = nil
			}
		case asJSON:
			r := newJSONRecord(k, ttl)
			r.Value, r.Value64 = spell(v)
			err = writeJSON(out, r)
		default:
			line = append(appendKey(line[:0], v), '\n')
			_, err = out.Write(line)
		}
		if err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if len(absent) > 0 {
		return &statusError{status: exitFalse, msg: fmt.Sprintf("%s not found in %s: %s",
			plural(int64(len(absent)), "key"), path, strings.Join(absent, " "))}
	}
	return nil
}
