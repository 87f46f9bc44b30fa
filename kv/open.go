//go:build unix

package kv

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Open opens the store in the file at path, creating and initialising the file
// if it is missing or empty (unless opts.ReadOnly). A nil opts means the zero
// Options. Any number of processes, and handles within one process, may have
// the same file open at once.
//
// A missing file is built under a temporary name beside path and linked into
// place, so no process ever sees it half made; an existing empty file is
// initialised in place under the writer lock. A read-write Open finishes a
// write that a killed writer or a power loss left unapplied.
//
// Open returns an error wrapping ErrInvalid for bad options or a file that is
// not a regular file on a local file system, ErrCorrupt for a file that is
// damaged, foreign, of another format version or truncated, ErrLocked when
// Options.LockTimeout passes while another process holds the file, and
// fs.ErrNotExist or fs.ErrPermission from the system.
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

// openOS opens the file, creating it when it is missing and the handle may
// write.
func openOS(path string, o Options) (*os.File, error) {
	if o.ReadOnly {
		// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
		// writer; openDB then refuses anything but a regular file.
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("kv: open %s: %w", path, pathErr(err))
		}
		return f, nil
	}
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, fs.ErrNotExist) && attempt == 0:
			f, err := createFile(path, o)
			if errors.Is(err, fs.ErrExist) {
				continue // another process created it first: open theirs
			}
			return f, err
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("kv: open %s for writing: %w (to read it, open it with Options.ReadOnly)", path, pathErr(err))
		default:
			return nil, fmt.Errorf("kv: open %s: %w", path, pathErr(err))
		}
	}
}

// pathErr strips the operation and path from a *fs.PathError, whose message
// would repeat what the caller's wrapping already says.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// createFile builds a new store under a temporary name beside path, flushed to
// disk, and links it into place: path either does not exist or holds a whole
// store, whatever happens to this process or the machine. It returns the new
// file, or an error wrapping fs.ErrExist when another process created path
// first. Where the file system has no hard links, it creates path in place
// and initialises it under the lock (openDB).
func createFile(path string, o Options) (*os.File, error) {
	dir := filepath.Dir(path)
	tmp, err := createBeside(path, "new", o.Mode)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("kv: create %s: the directory %s is not writable: %w", path, dir, pathErr(err))
		}
		return nil, fmt.Errorf("kv: create %s: %w", path, pathErr(err))
	}
	defer os.Remove(tmp.Name())
	if err := initFile(int(tmp.Fd()), o); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("kv: create %s: %w", path, err)
	}
	err = os.Link(tmp.Name(), path)
	switch {
	case errors.Is(err, fs.ErrExist):
		tmp.Close()
		return nil, err
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EXDEV):
		tmp.Close()
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, o.Mode)
		if err != nil {
			return nil, fmt.Errorf("kv: create %s: %w", path, pathErr(err))
		}
		return f, nil
	case err != nil:
		tmp.Close()
		return nil, fmt.Errorf("kv: create %s: %w", path, pathErr(err))
	}
	if err := syncDir(dir); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("kv: create %s: sync the directory: %w", path, err)
	}
	return tmp, nil
}

func openDB(path string, osf *os.File, o Options) (*DB, error) {
	st, err := osf.Stat()
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", path, pathErr(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("kv: open %s: not a regular file (%s): %w", path, fileType(st.Mode()), ErrInvalid)
	}
	fd := int(osf.Fd())
	if err := checkFileSystem(fd); err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", path, err)
	}
	var page [PageSize]byte
	n, err := unix.Pread(fd, page[:], 0)
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", path, err)
	}
	if needsInit(page[:n]) {
		if o.ReadOnly {
			return nil, fmt.Errorf("kv: open %s: the file is empty or its creation did not finish; open it once without ReadOnly to initialise it: %w", path, ErrCorrupt)
		}
		if err := initInPlace(path, fd, o); err != nil {
			return nil, err
		}
		if n, err = unix.Pread(fd, page[:], 0); err != nil {
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
	logPages := uint64(h.logPages)
	published := int64(le.Uint64(page[hdrFileSize:]))
	if published > size || published < int64(logRegionsEnd(logPages)+PageSize) || published%PageSize != 0 || published > maxFileSize {
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
		logPages:    logPages,
		minHW:       logRegionsEnd(logPages) + PageSize,
		pid:         uint64(os.Getpid()), // getpid is a system call: once, not per write
	}
	db.tx.db = db
	if !o.ReadOnly {
		// A killed writer's or a power loss's unfinished write: finish it now,
		// so that every reader of this handle starts from a whole state.
		if err := db.repairAtOpen(); err != nil {
			f.close()
			return nil, fmt.Errorf("kv: open %s: %w", path, err)
		}
	}
	return db, nil
}

// fileType names a file's type for an error message.
func fileType(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	default:
		return t.String()
	}
}

func fileFlags(o Options) uint64 {
	if o.Evict {
		return flagEvict
	}
	return 0
}

// initialTableLog2 sizes the first slot table. A cache never rebuilds its
// table at its bound (a rebuild needs fresh contiguous pages), so its table
// is made at once for the keys MaxSize can hold: the largest power of two of
// slots within 1/8 of MaxSize, which at 3/4 load holds one key per 85 to 170
// bytes of the file; beyond that eviction keeps the key count down. Other
// files start with one page and double.
func initialTableLog2(o Options) uint {
	log2 := uint(minLog2)
	if o.Evict {
		for 8<<(log2+1) <= o.MaxSize/8 {
			log2++
		}
	}
	return log2
}

// initFile writes a new, empty store. The header goes first with its state
// word saying "creating", and last with "ready", each write followed by a
// flush, so that neither a killed creator nor a power loss can leave a file
// that says ready before the rest of it is on disk (docs/format.md, "A new
// file").
func initFile(fd int, o Options) error {
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return err
	}
	logPages := uint64(defaultLogPages)
	tableOff := logRegionsEnd(logPages)
	log2 := initialTableLog2(o)
	hw := tableOff + uint64(roundUp(8<<log2, PageSize))
	var ringOff, ringCap, ghostOff, ghostBuckets, smallCap uint64
	if o.Evict && uint64(o.MaxSize) > hw {
		// A cache's small FIFO and ghost (policy.go) follow its table.
		ringCap, ghostBuckets = cacheLayout(log2, uint64(o.MaxSize))
		ringOff = hw
		ghostOff = ringOff + uint64(roundUp(int64(8*ringCap), PageSize))
		hw = ghostOff + uint64(roundUp(int64(ghostBuckets*ghostWays*4), PageSize))
		// The small FIFO holds at least the last 1/8 of MaxSize written
		// (docs/cache.md), but no more than half of what records can use.
		if uint64(o.MaxSize) > hw {
			smallCap = min(uint64(o.MaxSize)/smallShare, (uint64(o.MaxSize)-hw)/2)
		}
	}
	size := max(o.InitialSize, roundUp(int64(hw)+MinFileSize/2, PageSize))
	if o.MaxSize > 0 {
		if int64(hw) > o.MaxSize {
			return fmt.Errorf("MaxSize %d cannot hold the header, the log and the index structures (%d bytes): %w", o.MaxSize, hw, ErrInvalid)
		}
		size = min(size, o.MaxSize)
	}
	page := make([]byte, PageSize)
	writeFixedHeader(page, headerFields{
		version:  formatVersion,
		pageSize: PageSize,
		seed:     binary.LittleEndian.Uint64(seed[:]),
		maxSize:  uint64(o.MaxSize),
		flags:    fileFlags(o),
		created:  uint64(time.Now().UnixMilli()),
		logPages: uint32(logPages),
	})
	le.PutUint64(page[hdrState:], stateCreating)
	if _, err := unix.Pwrite(fd, page, 0); err != nil {
		return err
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		return err
	}
	if err := reserveBlocks(fd, PageSize, size-PageSize); err != nil {
		return err
	}
	if err := zeroFill(fd, PageSize, int64(hw)-PageSize); err != nil {
		return err
	}
	if err := unix.Fsync(fd); err != nil {
		return err
	}
	le.PutUint64(page[hdrTable:], tableOff|uint64(log2))
	le.PutUint64(page[hdrFileSize:], uint64(size))
	le.PutUint64(page[hdrHighWater:], hw)
	if ringCap > 0 {
		le.PutUint64(page[hdrRingOff:], ringOff)
		le.PutUint64(page[hdrRingCap:], ringCap)
		le.PutUint64(page[hdrSmallCap:], smallCap)
		le.PutUint64(page[hdrGhostOff:], ghostOff)
		le.PutUint64(page[hdrGhostBuckets:], ghostBuckets)
	}
	le.PutUint64(page[hdrState:], stateReady)
	if _, err := unix.Pwrite(fd, page, 0); err != nil {
		return err
	}
	return unix.Fsync(fd)
}
