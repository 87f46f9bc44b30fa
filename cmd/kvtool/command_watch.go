package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mapkv/mapkv/kv"
)

func newWatchCommand() *command {
	c := newCommand("watch", "FILE KEY", "print a key's value each time it changes", 2, 2)
	c.reads = true
	c.help = `
Watch prints the value of KEY, if it has one, and then each new value as
writers in any process store it, each followed by a newline, until it is
interrupted (SIGINT or SIGTERM, exit status 0) or has printed --count values.
A value that holds a newline makes the output ambiguous: use --json for
values that may. A deleted or expired key prints nothing; watch goes on and
prints the key's value when it is stored again.

Watch wakes within moments of a write, also while the key is absent. It
opens FILE read-write when the user may write it, so that it can sleep until
a writer wakes it; it never writes a key. Otherwise it opens FILE read-only
and looks again up to 20 times a second. A missing FILE is an error (status
2); watch never creates one.

Writes that come faster than watch prints them are seen as their latest
result, not one by one; storing the same value again may print nothing.

With --json each line is a JSON object: the value as dump writes it ("value"
for UTF-8, else standard base64 under "value64") and its "version", which
differs for every different record the key has held:

  {"value":"Ada","version":9223380867475327214}
  {"value64":"/wA=","version":9223380876065261806}
  {"deleted":true}

A version is an unsigned 64-bit integer; tools that read JSON numbers as
doubles may round it. {"deleted":true} is the line for a key that was deleted
or expired.
`
	q := addKeyFlags(c.flags)
	count := c.flags.Int("count", 0, "stop after printing `N` values (0: never)")
	asJSON := c.flags.Bool("json", false, "print JSON lines with the value and its version")
	c.run = func(e *env, args []string) error {
		key, err := q.key(args[1], "KEY")
		if err != nil {
			return err
		}
		return runWatch(e, args[0], key, *count, *asJSON)
	}
	return c
}

func runWatch(e *env, path string, k []byte, count int, asJSON bool) error {
	if count < 0 {
		return usagef("--count must not be negative")
	}
	// Set up before the first line is printed, so that a caller who has
	// read one line may signal watch and get status 0.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := openWatch(path)
	if err != nil {
		return err
	}
	defer db.Close()
	p := &watchPrinter{w: e.stdout, json: asJSON}
	var since uint64
	for n := 0; count == 0 || n < count; {
		v, ver, err := db.Watch(ctx, k, since)
		switch {
		case ctx.Err() != nil:
			return nil // interrupted: the normal end of a watch
		case errors.Is(err, kv.ErrNotFound):
			// Deleted or expired. Watch with since 0 then waits for the key
			// to be stored again, as it waits for any change.
			if err := p.deleted(); err != nil {
				return err
			}
			since = 0
			continue
		case err != nil:
			return fail(path, db, err)
		}
		since = ver
		if err := p.value(v, ver); err != nil {
			return err
		}
		n++
	}
	return nil
}

// openWatch opens path read-write when the user may write it, so that Watch
// sleeps until a writer wakes it, and read-only otherwise, so that Watch
// polls. The read-only open comes first: a missing or empty file is an error
// then, never created or initialised.
func openWatch(path string) (*kv.DB, error) {
	ro, err := openRead(path, nil)
	if err != nil {
		return nil, err
	}
	rw, err := kv.Open(path, nil)
	if err != nil {
		// No permission, a read-only file system: the read-only handle
		// watches as well, only with polling.
		return ro, nil
	}
	ro.Close()
	return rw, nil
}

// watchPrinter writes watch's lines, each in one Write so that a reader of a
// pipe sees whole lines as soon as they are printed.
type watchPrinter struct {
	w    io.Writer
	json bool
	line []byte
}

// watchRecord is one line of watch --json.
type watchRecord struct {
	Value   *string `json:"value,omitempty"`
	Value64 *string `json:"value64,omitempty"`
	Version uint64  `json:"version,omitempty"`
	Deleted bool    `json:"deleted,omitempty"`
}

func (p *watchPrinter) value(v []byte, version uint64) error {
	if !p.json {
		p.line = append(append(p.line[:0], v...), '\n')
		_, err := p.w.Write(p.line)
		return err
	}
	r := watchRecord{Version: version}
	r.Value, r.Value64 = spell(v)
	return newRecordEncoder(p.w).enc.Encode(&r)
}

func (p *watchPrinter) deleted() error {
	if !p.json {
		return nil
	}
	return newRecordEncoder(p.w).enc.Encode(&watchRecord{Deleted: true})
}
