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

// copyMethod is how a plain snapshot writes its copy. Callers have no
// choice to make: write(2) from the mapping measured faster
// (docs/performance.md); the kv benchmarks compare the two through
// SnapshotOptions.method.
type copyMethod int

const (
	copyWrite copyMethod = iota // write(2) the source mapping into the destination
	copyMmap                    // size the destination, map it and copy between mappings
)

// SnapshotOptions configures SnapshotWith. The zero value makes the copy
// Snapshot makes.
type SnapshotOptions struct {
	// Compact writes only the live records into a fresh, minimal file (like
	// mdb_copy -c) instead of copying the file page for page: expired
	// records, free pages and the slack of the slot table are left out, and
	// TTLs are kept. It takes longer than a plain copy.
	Compact bool
	// Overwrite replaces an existing dst, atomically (the copy is renamed
	// over it); without it an existing dst is an error wrapping fs.ErrExist.
	Overwrite bool
	// Progress, if set, is called now and then during the copy, on the
	// goroutine that called SnapshotWith: with the bytes written and the
	// bytes to write, or with Compact the keys written and the live keys
	// counted at the start.
	Progress func(done, total int64)

	method copyMethod // the kv benchmarks' choice; copyWrite otherwise
}

// Snapshot writes a consistent copy of the store to dst, which must not
// exist; see SnapshotWith.
func (db *DB) Snapshot(dst string) error { return db.SnapshotWith(dst, SnapshotOptions{}) }

// SnapshotCompact writes a consistent copy of the live records to dst, which
// must not exist, as a fresh, minimal file (like mdb_copy -c); see
// SnapshotWith and SnapshotOptions.Compact.
func (db *DB) SnapshotCompact(dst string) error {
	return db.SnapshotWith(dst, SnapshotOptions{Compact: true})
}

// SnapshotWith writes a consistent copy of the store to the file dst, as o
// says. It holds the writer lock for the copy alone, so the copy never holds
// half a write or half an Update; readers in every process go on meanwhile,
// writers wait. A read-write DB first finishes a killed writer's commit. The
// copy goes to a temporary file beside dst that is synced and renamed into
// place, so a crash never leaves a partial dst. A read-only DB can take
// snapshots. The copy is a store that Open accepts, with no writer recorded.
//
// SnapshotWith returns an error wrapping fs.ErrExist if dst exists and
// o.Overwrite is false; ErrClosed on a closed DB; ErrLocked when the writer
// lock is not free within Options.LockTimeout; ErrInvalid when called inside
// an Update's fn; ErrCorrupt when the source cannot be read; and the
// system's errors (fs.ErrPermission, ENOSPC...) about dst and its directory.
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
	switch o.method {
	case copyMmap:
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
// streams it); it implements io.WriterTo. Like SnapshotWith it holds the
// writer lock for the copy alone, first finishing a killed writer's commit;
// readers go on meanwhile, writers wait for w. It returns the number of bytes
// written and ErrClosed on a closed DB, ErrLocked when Options.LockTimeout
// passes first, ErrInvalid inside an Update's fn, ErrCorrupt when the source
// cannot be read, or w's error as it is.
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
