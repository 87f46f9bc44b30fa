package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mapkv/mapkv/kv"
)

func newSnapshotCommand() *command {
	c := newCommand("snapshot", "FILE DEST", "copy the file consistently while others use it", 2, 2)
	c.reads = true
	c.help = `
Snapshot writes a consistent copy of FILE to DEST while other processes keep
reading and writing FILE: DEST holds the state of one moment, between two
commits. FILE is opened read-only.

DEST must not exist unless --force is given. A DEST that is a directory
gets the copy under FILE's name, as cp does. A DEST of "-" writes the copy to
stdout (not a terminal), for a pipe: kvtool snapshot db - | zstd > db.zst.
--compact writes only the live records into a fresh, minimal file (like
mdb_copy -c) instead of copying the file as it is; to stdout it is built in
a temporary file first ($TMPDIR). When stderr is a terminal, snapshot shows
its progress (in bytes, or in keys with --compact).

Snapshot holds the writer lock for the copy, so writers wait for it (readers
do not); if another writer holds the lock, snapshot waits for it up to
--lock-timeout. The copy is written to a temporary file beside DEST and
renamed into place, so a crash never leaves a partial DEST.
`
	compact := c.flags.Bool("compact", false, "copy only the live records into a minimal file")
	force := c.flags.Bool("force", false, "replace DEST if it exists")
	lock := addLockFlag(c.flags)
	c.run = func(e *env, args []string) error {
		o := kv.SnapshotOptions{Compact: *compact, Overwrite: *force}
		return runSnapshot(e, args[0], args[1], o, lock)
	}
	return c
}

func runSnapshot(e *env, path, dest string, o kv.SnapshotOptions, lock *lockOption) error {
	if dest == "-" {
		return snapshotToStdout(e, path, o, lock)
	}
	if fi, err := os.Stat(dest); err == nil && fi.IsDir() {
		dest = filepath.Join(dest, filepath.Base(path))
	}
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
	p := newProgress(e, o.Compact, db)
	o.Progress = p.show
	err = db.SnapshotWith(dest, o)
	p.done(err)
	return snapshotError(path, dest, db, lock, err)
}

// snapshotError explains what SnapshotWith returned: about FILE, or about
// DEST, whose name kv's message has.
func snapshotError(path, dest string, db *kv.DB, lock *lockOption, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return fail(dest, db, err)
	case errors.Is(err, kv.ErrLocked), errors.Is(err, kv.ErrBusy), errors.Is(err, kv.ErrCorrupt):
		return lock.fail(path, db, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("no permission to write %s or its directory", dest)
	}
	// Anything else is about DEST (its directory, the disk): kv's message
	// names it.
	return errors.New(trimKV(err))
}

// snapshotToStdout is snapshot FILE -: the copy in the file format on
// stdout (DB.WriteTo). With --compact the compact copy is made in a temporary
// file first, since kv compacts only into a file.
func snapshotToStdout(e *env, path string, o kv.SnapshotOptions, lock *lockOption) error {
	if e.stdoutTTY {
		return usagef("DEST - writes the copy to stdout, which is a terminal: redirect it to a file or a pipe")
	}
	db, err := openRead(path, lock)
	if err != nil {
		return err
	}
	defer db.Close()
	p := newProgress(e, o.Compact, db)
	if o.Compact {
		dir, err := os.MkdirTemp("", "kvtool-snapshot-")
		if err != nil {
			return fmt.Errorf("making a temporary directory for the compact copy: %w", err)
		}
		defer os.RemoveAll(dir)
		tmp := filepath.Join(dir, filepath.Base(path))
		o.Progress = p.show
		err = db.SnapshotWith(tmp, o)
		p.done(err)
		if err != nil {
			return snapshotError(path, tmp, db, lock, err)
		}
		f, err := os.Open(tmp)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(e.stdout, f)
		return err
	}
	w := &countingWriter{w: e.stdout, total: db.Stats().FileSize, progress: p.show}
	_, err = db.WriteTo(w)
	p.done(err)
	if w.err != nil {
		return fmt.Errorf("writing the copy to stdout: %w", unwrapPath(w.err))
	}
	return snapshotError(path, "-", db, lock, err)
}

// countingWriter passes writes on to w and reports the bytes written so far.
type countingWriter struct {
	w        io.Writer
	done     int64
	total    int64
	progress func(done, total int64)
	err      error // w's error, not kv's
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.done += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	c.progress(c.done, max(c.total, c.done))
	return n, err
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

// progress draws snapshot's progress on one terminal line of stderr, or
// nothing when stderr is not a terminal. kv may call it from a copying
// goroutine, hence the mutex.
type progress struct {
	mu    sync.Mutex
	e     *env
	keys  bool  // --compact: kv counts keys, not bytes
	total int64 // what the line shows at the end of a snapshot that worked
	shown bool
	last  string
}

// newProgress returns the progress line for a snapshot of db, drawn at 0%
// at once: kv calls back only after its first chunk (with --compact, its
// first 1000 keys), and a small file would show nothing.
func newProgress(e *env, keys bool, db *kv.DB) *progress {
	p := &progress{e: e, keys: keys}
	if e.stderrTTY {
		total := db.Stats().FileSize
		if keys {
			total = db.Stats().Keys
		}
		p.total = total
		p.show(0, total)
	}
	return p
}

func (p *progress) show(done, total int64) {
	if !p.e.stderrTTY {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pct := 100
	if total > 0 {
		pct = int(min(done, total) * 100 / total)
	}
	var s string
	if p.keys {
		s = fmt.Sprintf("snapshot: %3d%% (%d of %s)", pct, done, plural(total, "key"))
	} else {
		s = fmt.Sprintf("snapshot: %3d%% (%s of %s)", pct, formatSize(done), formatSize(total))
	}
	if s == p.last {
		return
	}
	// Pad to the previous line's length so that a shorter line covers it.
	fmt.Fprintf(p.e.stderr, "\r%s%s", s, strings.Repeat(" ", max(0, len(p.last)-len(s))))
	p.shown, p.last = true, s
}

// done ends the progress line, if one was drawn, at 100% if the snapshot
// worked (kv's last call may come before the end).
func (p *progress) done(err error) {
	if err == nil && p.shown {
		p.show(p.total, p.total)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprintln(p.e.stderr)
		p.shown = false
	}
}
