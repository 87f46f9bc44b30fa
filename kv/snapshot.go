//go:build unix

package kv

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// SnapshotMethod chooses how Snapshot writes the copy.
type SnapshotMethod int

const (
	// SnapshotDefault is the faster method as measured (docs/performance.md):
	// currently SnapshotWrite.
	SnapshotDefault SnapshotMethod = iota
	// SnapshotWrite writes the source mapping to the destination with write(2).
	SnapshotWrite
	// SnapshotMmap sizes the destination with ftruncate, maps it and copies
	// from mapping to mapping; fresh destination pages fault on first touch.
	SnapshotMmap
)

// SnapshotOptions configures SnapshotWith.
type SnapshotOptions struct {
	// Compact writes only the live records into a fresh, minimal file (like
	// mdb_copy -c) instead of copying the file page for page.
	Compact bool
	// Overwrite replaces an existing destination; without it an existing
	// destination is an error wrapping fs.ErrExist.
	Overwrite bool
	// Method is how the copy is written; ignored with Compact.
	Method SnapshotMethod
	// Progress, if set, is called during the copy with the bytes done so far.
	Progress func(done, total int64)
}

// Snapshot writes a consistent copy of the store to dst, which must not exist.
// See SnapshotWith.
func (db *DB) Snapshot(dst string) error { return db.SnapshotWith(dst, SnapshotOptions{}) }

// SnapshotWith writes a consistent copy of the store to dst. It holds the
// writer lock for the copy alone, so the copy never holds half a write or half
// an Update; readers in every process go on meanwhile. The copy goes to a
// temporary file beside dst that is synced and renamed into place, so a crash
// never leaves a partial dst. A read-only DB can take snapshots.
func (db *DB) SnapshotWith(dst string, o SnapshotOptions) (err error) {
	if db.closed.Load() {
		return ErrClosed
	}
	if !o.Overwrite {
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("kv: snapshot to %s: %w (choose another name or overwrite it)", dst, fs.ErrExist)
		}
	}
	tmp, err := createBeside(dst, "tmp", 0o600)
	if err != nil {
		return fmt.Errorf("kv: snapshot to %s: %w", dst, err)
	}
	tmpPath := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpPath)
		}
	}()
	if o.Compact {
		tmp.Close()
		if err := db.compactTo(tmpPath, o.Progress); err != nil {
			return err
		}
		if tmp, err = os.OpenFile(tmpPath, os.O_RDWR, 0); err != nil {
			return fmt.Errorf("kv: snapshot to %s: %w", dst, err)
		}
	} else if err := db.copyTo(tmp, o); err != nil {
		return fmt.Errorf("kv: snapshot to %s: %w", dst, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("kv: snapshot to %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("kv: snapshot to %s: %w", dst, err)
	}
	if err := os.Rename(tmpPath, dst); err != nil {
		return fmt.Errorf("kv: snapshot to %s: %w", dst, err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// copyTo copies the file's used bytes under the writer lock.
func (db *DB) copyTo(dst *os.File, o SnapshotOptions) (err error) {
	release, err := db.holdStill()
	if err != nil {
		return err
	}
	defer release()
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	if !db.readOnly {
		if _, err := db.recoverPending(); err != nil {
			return err
		}
	}
	f := db.f
	m := f.m.Load()
	size := int64(m.load(hdrFileSize))
	if !f.ensure(size) {
		return fmt.Errorf("source header promises %d bytes the mapping cannot hold: %w", size, ErrCorrupt)
	}
	src := f.m.Load().data[:size]
	progress := func(done int64) {
		if o.Progress != nil {
			o.Progress(done, size)
		}
	}
	const chunk = 8 << 20
	switch o.Method {
	case SnapshotMmap:
		if err := unix.Ftruncate(int(dst.Fd()), size); err != nil {
			return err
		}
		out, err := unix.Mmap(int(dst.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("mmap destination: %w", err)
		}
		for done := int64(0); done < size; done += chunk {
			copy(out[done:min(done+chunk, size)], src[done:min(done+chunk, size)])
			progress(min(done+chunk, size))
		}
		le.PutUint64(out[hdrWriterPID:], 0)
		if err := unix.Munmap(out); err != nil {
			return err
		}
	default:
		if _, err := writeImage(dst, src, progress); err != nil {
			return err
		}
	}
	return nil
}

// WriteTo writes a consistent copy of the store to w, in the file format, so
// that the bytes written are a store that Open accepts (kvtool snapshot FILE -
// streams it). Like SnapshotWith it holds the writer lock for the copy alone,
// first finishing a killed writer's commit; readers go on meanwhile. It
// returns the number of bytes written, ErrClosed on a closed DB, ErrLocked when
// Options.LockTimeout passes first, or w's error.
func (db *DB) WriteTo(w io.Writer) (n int64, err error) {
	release, err := db.holdStill()
	if err != nil {
		return 0, err
	}
	defer release()
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	if !db.readOnly {
		if _, err := db.recoverPending(); err != nil {
			return 0, err
		}
	}
	f := db.f
	size := int64(f.m.Load().load(hdrFileSize))
	if !f.ensure(size) {
		return 0, fmt.Errorf("kv: %s: header promises %d bytes the mapping cannot hold: %w", f.path, size, ErrCorrupt)
	}
	return writeImage(w, f.m.Load().data[:size], nil)
}

// writeImage writes a held-still file image to w: the header page with the
// writer's pid cleared (the copy has no writer), then the rest in chunks.
func writeImage(w io.Writer, src []byte, progress func(done int64)) (int64, error) {
	var hdr [PageSize]byte
	copy(hdr[:], src)
	le.PutUint64(hdr[hdrWriterPID:], 0)
	n, err := w.Write(hdr[:])
	done := int64(n)
	if err != nil {
		return done, err
	}
	const chunk = 8 << 20
	for done < int64(len(src)) {
		n, err := w.Write(src[done:min(done+chunk, int64(len(src)))])
		done += int64(n)
		if err != nil {
			return done, err
		}
		if progress != nil {
			progress(done)
		}
	}
	return done, nil
}

// compactTo writes the live pairs into a new store at path, under the writer
// lock so that the copy is consistent.
func (db *DB) compactTo(path string, progress func(done, total int64)) error {
	if err := db.lockWriter(); err != nil {
		return err
	}
	defer db.unlockWriter()
	if !db.readOnly {
		if _, err := db.recoverPending(); err != nil {
			return err
		}
	}
	st := db.Stats()
	// path is the empty temporary file SnapshotWith made: Open initialises it
	// in place, so no second temporary name is ever left behind.
	out, err := Open(path, &Options{InitialSize: st.LiveBytes + st.Slots*8 + MinFileSize, MaxSize: int64(db.maxSize), Evict: db.evict})
	if err != nil {
		return err
	}
	defer out.Close()
	const batch = 1000
	type pair struct {
		k, v   []byte
		expiry int64
	}
	var pending []pair
	var done int64
	flush := func() error {
		err := out.Update(func(tx *Tx) error {
			for _, p := range pending {
				var flags uint16
				if p.expiry != 0 {
					flags = recExpires
				}
				if err := tx.t.put(p.k, p.v, flags, p.expiry); err != nil {
					return err
				}
			}
			return nil
		})
		pending = pending[:0]
		return err
	}
	err = db.forEachRecord(func(k, v []byte, expiry int64) error {
		pending = append(pending, pair{bytes.Clone(k), bytes.Clone(v), expiry})
		done++
		if len(pending) == batch {
			if progress != nil {
				progress(done, st.Keys)
			}
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("kv: compact into %s: %w", path, err)
	}
	return out.Close()
}
