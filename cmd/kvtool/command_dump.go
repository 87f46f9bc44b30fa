package main

import (
	"bufio"
	"errors"
	"fmt"

	"github.com/mapkv/mapkv/kv"
)

func newDumpCommand() *command {
	c := newCommand("dump", "FILE", "write every record as JSON lines", 1, 1)
	c.help = `
Dump writes every key and value of FILE to stdout as JSON lines, one record
per line, in the file's order (unspecified):

  {"key":"user:1","value":"Ada"}
  {"key64":"/wA=","value64":"AAEC"}
  {"key":"session:9","value":"x","ttl_ms":59750}

A key or value that is valid UTF-8 is a JSON string under "key" or "value";
any other is standard base64 (with padding) under "key64" or "value64". A key
that expires has "ttl_ms", the milliseconds it has left when dump reads it;
a key that expires while dump runs is left out.

"kvtool load" reads the format back, so "kvtool dump a | kvtool load b" copies
every record byte for byte. Load counts ttl_ms from when it stores the
record, so an expiring key lives in b longer than in a by the time between
dump reading it and load storing it. docs/cli.md describes the format
exactly. --prefix and --match dump only the keys they pick, as for list.

Dump reads a live view. If it meets a damaged record it stops there, writes
what it read before, and exits 2; "kvtool check FILE" lists the damage.
--salvage instead skips every damaged record, writes all the others, and
says on stderr how many it skipped; it then exits 1 (0 if it skipped none),
so that "kvtool dump --salvage bad.db | kvtool load new.db" copies out what
a damaged file still holds.
`
	c.reads = true
	q := addKeyFlags(c.flags)
	filter := addFilterFlags(c.flags, "dump")
	salvage := c.flags.Bool("salvage", false, "skip damaged records, write the rest, and say how many were skipped")
	c.run = func(e *env, args []string) error {
		if err := filter.compile(q); err != nil {
			return err
		}
		return runDump(e, args[0], filter, *salvage)
	}
	return c
}

func runDump(e *env, path string, filter *keyFilter, salvage bool) error {
	db, err := openRead(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	enc := newRecordEncoder(out)
	var n int64
	each, skipped := db.ForEach, 0
	if salvage {
		each = func(fn func(k, v []byte) error) (err error) {
			skipped, err = db.Salvage(fn)
			return err
		}
	}
	err = each(func(k, v []byte) error {
		if !filter.picks(k) {
			return nil
		}
		// ForEach does not say when a key expires; ask for each. The key
		// may have been written since ForEach read it: then the TTL is the
		// new record's, as it would be had dump read the key a moment later.
		ttl, err := db.TTL(k)
		switch {
		case errors.Is(err, kv.ErrNotFound):
			return nil // expired (or deleted) since ForEach read it
		case err != nil:
			return err
		case ttl == kv.NoTTL:
			ttl = 0
		}
		n++
		return enc.encode(k, v, true, ttl)
	})
	// What was read before an error goes out too, as it would have in a
	// larger dump anyway; the exit status says the output is incomplete.
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil && n > 0 {
		err = fmt.Errorf("after %s: %w", plural(n, "record"), err)
	}
	if err == nil && skipped > 0 {
		return &statusError{status: exitFalse, msg: fmt.Sprintf("%s: skipped %s, wrote %s; 'kvtool check %s' lists the damage",
			path, plural(int64(skipped), "damaged record"), plural(n, "record"), path)}
	}
	return fail(path, db, err)
}
