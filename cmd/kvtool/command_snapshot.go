package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/mapkv/mapkv/kv"
)

func newSnapshotCommand() *command {
	c := newCommand("snapshot", "FILE DEST", "copy the file consistently while others use it", 2, 2)
	c.help = `
Snapshot writes a consistent copy of FILE to DEST while other processes keep
reading and writing FILE: DEST holds the state of one moment, between two
commits. FILE is opened read-only.

DEST must not exist unless --force is given. --compact writes only the live
records into a fresh, minimal file (like mdb_copy -c) instead of copying the
file as it is. --method chooses how the bytes are copied: "write" writes from
the mapping with write(2), "mmap" copies into a mapping of DEST; without it
the library chooses. When stderr is a terminal, snapshot shows its progress.

Snapshot holds the writer lock for the copy, so writers wait for it (readers
do not); if another writer holds the lock, snapshot waits for it up to
--lock-timeout. The copy is written to a temporary file beside DEST and
renamed into place, so a crash never leaves a partial DEST.
`
	compact := c.flags.Bool("compact", false, "copy only the live records into a minimal file")
	force := c.flags.Bool("force", false, "replace DEST if it exists")
	lock := addLockFlag(c.flags)
	var method methodFlag
	c.flags.Var(&method, "method", "copy `method`: write or mmap (default: the library's choice)")
	c.run = func(e *env, args []string) error {
		o := kv.SnapshotOptions{Compact: *compact, Overwrite: *force, Method: method.m}
		return runSnapshot(e, args[0], args[1], o, lock)
	}
	return c
}

// methodFlag is --method: a kv.SnapshotMethod spelled as a word.
type methodFlag struct {
	name string
	m    kv.SnapshotMethod
}

var snapshotMethods = map[string]kv.SnapshotMethod{
	"write": kv.SnapshotWrite,
	"mmap":  kv.SnapshotMmap,
}

func (f *methodFlag) String() string { return f.name }

func (f *methodFlag) Set(s string) error {
	m, ok := snapshotMethods[s]
	if !ok {
		return fmt.Errorf("unknown method %q: use write or mmap", s)
	}
	f.name, f.m = s, m
	return nil
}

func runSnapshot(e *env, path, dest string, o kv.SnapshotOptions, lock *lockOption) error {
	// --force onto the source itself would rename a copy over the file that
	// other processes have open, splitting them between two files.
	if same(path, dest) {
		return usagef("DEST %s is FILE itself", dest)
	}
	db, err := openRead(path, lock)
	if err != nil {
		return err
	}
	defer db.Close()
	var p *progress
	if e.stderrTTY {
		p = &progress{e: e}
		o.Progress = p.show
	}
	err = db.SnapshotWith(dest, o)
	p.done()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return fail(dest, db, err)
	case errors.Is(err, kv.ErrLocked), errors.Is(err, kv.ErrCorrupt):
		return lock.fail(path, db, err)
	}
	// Anything else is about DEST (its directory, the disk): kv's message
	// names it.
	return errors.New(trimKV(err))
}

// same reports whether a and b name one existing file.
func same(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// progress draws snapshot's progress on one terminal line of stderr.
// kv may call it from a copying goroutine, hence the mutex.
type progress struct {
	mu    sync.Mutex
	e     *env
	shown bool
	last  string
}

func (p *progress) show(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pct := 100
	if total > 0 {
		pct = int(done * 100 / total)
	}
	s := fmt.Sprintf("snapshot: %3d%% (%s of %s)", pct, formatSize(done), formatSize(total))
	if s == p.last {
		return
	}
	// Pad to the previous line's length so that a shorter line covers it.
	fmt.Fprintf(p.e.stderr, "\r%s%s", s, strings.Repeat(" ", max(0, len(p.last)-len(s))))
	p.shown, p.last = true, s
}

// done ends the progress line, if one was drawn.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprintln(p.e.stderr)
	}
}
