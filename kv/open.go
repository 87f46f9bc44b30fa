//go:build unix

package kv

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sys/unix"
)

// Open opens the store in the file at path, creating and initialising the file
// if it is missing or empty (unless opts.ReadOnly). A nil opts means the zero
// Options. Any number of processes, and handles within one process, may have
// the same file open at once.
func Open(path string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	osf, err := openOS(path, o)
	if err != nil {
		return nil, err
	}
	db, err := openDB(path, osf, o)
	if err != nil {
		osf.Close()
		return nil, err
	}
	return db, nil
}

func openOS(path string, o Options) (*os.File, error) {
	if o.ReadOnly {
		// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
		// writer; openDB then refuses anything but a regular file.
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("kv: open %s: %w", path, err)
		}
		return f, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, o.Mode)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("kv: open %s for writing: %w (to read it, open it with Options.ReadOnly)", path, err)
	case err != nil:
		return nil, fmt.Errorf("kv: open %s: %w", path, err)
	}
	return f, nil
}

func openDB(path string, osf *os.File, o Options) (*DB, error) {
	st, err := osf.Stat()
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("kv: open %s: not a regular file (%v): %w", path, st.Mode().Type(), ErrInvalid)
	}
	fd := int(osf.Fd())
	if err := checkFileSystem(fd); err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", path, err)
	}
	var page [PageSize]byte
	n, err := readHeaderPage(fd, page[:])
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", path, err)
	}
	if needsInit(page[:n]) {
		if o.ReadOnly {
			return nil, fmt.Errorf("kv: open %s: the file is empty or its creation did not finish; open it once without ReadOnly to initialise it: %w", path, ErrCorrupt)
		}
		if err := initUnderLock(path, fd, o); err != nil {
			return nil, err
		}
		if n, err = readHeaderPage(fd, page[:]); err != nil {
			return nil, fmt.Errorf("kv: open %s: %w", path, err)
		}
	}
	h, err := parseFixedHeader(page[:n])
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", path, err)
	}
	if o.MaxSize != 0 && uint64(o.MaxSize) != h.maxSize {
		return nil, fmt.Errorf("kv: open %s: Options.MaxSize %d differs from the file's MaxSize %d (use 0 to take the file's): %w",
			path, o.MaxSize, h.maxSize, ErrInvalid)
	}
	if o.Evict && h.flags&flagEvict == 0 {
		return nil, fmt.Errorf("kv: open %s: Options.Evict is set but the file was created without it: %w", path, ErrInvalid)
	}
	size, err := (&file{fd: fd}).fileSize()
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", path, err)
	}
	published := int64(le.Uint64(page[hdrFileSize:]))
	if published > size || published < MinFileSize || published%PageSize != 0 {
		return nil, fmt.Errorf("kv: open %s: header says %d bytes, the file has %d (truncated?): %w", path, published, size, ErrCorrupt)
	}
	m, err := mapFile(fd, published, reserveFor(published, int64(h.maxSize)), o.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", path, err)
	}
	f := &file{path: path, f: osf, fd: fd, readOnly: o.ReadOnly}
	f.m.Store(m)
	f.limit.Store(min(published, int64(len(m.data))))
	db := &DB{
		f:           f,
		seed:        h.seed,
		maxSize:     h.maxSize,
		evict:       h.flags&flagEvict != 0,
		readOnly:    o.ReadOnly,
		syncWrites:  o.Sync,
		lockTimeout: o.LockTimeout,
		computeFor:  o.ComputeTimeout,
		pid:         uint64(os.Getpid()), // getpid is a system call: once, not per write
	}
	db.tx.db = db
	return db, nil
}

func readHeaderPage(fd int, page []byte) (int, error) {
	n, err := unix.Pread(fd, page, 0)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// needsInit reports whether the file is empty or was left half-created by a
// creator that died. A file with any other content is never written here.
func needsInit(page []byte) bool {
	if len(page) == 0 {
		return true
	}
	return len(page) == PageSize && hasMagic(page) && le.Uint64(page[hdrState:]) == stateCreating
}

// initUnderLock initialises the file while holding its writer lock, taken
// through gofrs/flock so that a LockTimeout applies; a concurrent creator
// waits and then finds the file ready.
func initUnderLock(path string, fd int, o Options) error {
	lk := flock.New(path, flock.SetFlag(os.O_RDWR))
	defer lk.Close()
	if o.LockTimeout > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), o.LockTimeout)
		defer cancel()
		ok, err := lk.TryLockContext(ctx, time.Millisecond)
		if err != nil || !ok {
			return fmt.Errorf("kv: initialise %s: %v: %w", path, err, ErrLocked)
		}
	} else if err := lk.Lock(); err != nil {
		return fmt.Errorf("kv: initialise %s: %w", path, err)
	}
	defer lk.Unlock()
	var page [PageSize]byte
	n, err := readHeaderPage(fd, page[:])
	if err != nil {
		return fmt.Errorf("kv: initialise %s: %w", path, err)
	}
	if !needsInit(page[:n]) {
		return nil // another process finished it first
	}
	if err := initFile(fd, o); err != nil {
		return fmt.Errorf("kv: initialise %s: %w", path, err)
	}
	return nil
}

func fileFlags(o Options) uint64 {
	if o.Evict {
		return flagEvict
	}
	return 0
}

// The layout of a new file: header, log, one page of slots, then free space.
const (
	initLogOff   = 1 * PageSize
	initLogCap   = 2 * PageSize
	initTableOff = 3 * PageSize
	initHW       = 4 * PageSize
)

// initFile writes a new, empty store. The header goes first with its state
// word saying "creating", and last with "ready", so a creator's death in
// between is recognised and redone by the next Open.
func initFile(fd int, o Options) error {
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return err
	}
	page := make([]byte, PageSize)
	writeFixedHeader(page, headerFields{
		version:  formatVersion,
		pageSize: PageSize,
		seed:     binary.LittleEndian.Uint64(seed[:]),
		maxSize:  uint64(o.MaxSize),
		flags:    fileFlags(o),
		created:  uint64(time.Now().UnixMilli()),
	})
	le.PutUint64(page[hdrState:], stateCreating)
	if _, err := unix.Pwrite(fd, page, 0); err != nil {
		return err
	}
	size := o.InitialSize
	if err := unix.Ftruncate(fd, size); err != nil {
		return err
	}
	if err := reserveBlocks(fd, PageSize, size-PageSize); err != nil {
		return err
	}
	zero := make([]byte, initHW-PageSize)
	if _, err := unix.Pwrite(fd, zero, PageSize); err != nil {
		return err
	}
	le.PutUint64(page[hdrTable:], initTableOff|minLog2)
	le.PutUint64(page[hdrFileSize:], uint64(size))
	le.PutUint64(page[hdrHighWater:], initHW)
	le.PutUint64(page[hdrLogOff:], initLogOff)
	le.PutUint64(page[hdrLogCap:], initLogCap)
	le.PutUint64(page[hdrState:], stateReady)
	if _, err := unix.Pwrite(fd, page, 0); err != nil {
		return err
	}
	return unix.Fsync(fd)
}
