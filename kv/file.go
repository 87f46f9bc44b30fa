//go:build unix

package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// file is the open file and its mappings. Every process maps the whole file
// MAP_SHARED into one large reserved address range, so growth by any process
// needs no remap here until the file outgrows the reservation; then a larger
// mapping replaces it and the old one stays mapped until Close, so readers in
// flight keep valid memory (docs/concurrency.md, "Growth").
type file struct {
	path     string
	f        *os.File
	fd       int
	readOnly bool

	m       atomic.Pointer[mapping]
	limit   atomic.Int64 // bytes known to exist in the file and lie in m
	remapMu sync.Mutex   // serialises remaps in this process
	retired []*mapping   // older mappings, unmapped on close
}

// mapping is one mmap of the file from offset 0.
type mapping struct {
	data []byte
}

// reserveFor returns how much address space to map for a file of size bytes.
func reserveFor(size, maxSize int64) int64 {
	if maxSize > 0 {
		return max(roundUp(maxSize, PageSize), size)
	}
	r := int64(64 << 30)
	if testReserve > 0 {
		r = testReserve
	}
	if math.MaxInt < r<<2 { // a 32-bit address space: stay modest
		r = 256 << 20
	}
	return max(r, 2*size)
}

// testReserve, set only by tests, shrinks the reservation so that growth
// past it, and the remap it needs, can be tested without a 64 GiB file.
var testReserve int64

// mapFile maps reserve bytes of f (more than its size is fine: only the part
// inside the file is ever touched). If the address space is limited it falls
// back to smaller reservations.
func mapFile(fd int, size, reserve int64, readOnly bool) (*mapping, error) {
	prot := unix.PROT_READ
	if !readOnly {
		prot |= unix.PROT_WRITE
	}
	var err error
	for r := reserve; r >= size; r /= 2 {
		if r > math.MaxInt {
			continue
		}
		var data []byte
		data, err = unix.Mmap(fd, 0, int(roundUp(r, PageSize)), prot, unix.MAP_SHARED)
		if err == nil {
			return &mapping{data: data}, nil
		}
		if !errors.Is(err, unix.ENOMEM) {
			break
		}
	}
	return nil, fmt.Errorf("mmap: %w", err)
}

// word returns a pointer to the aligned 8-byte word at off. The caller has
// bounds-checked off.
func (m *mapping) word(off uint64) *uint64 {
	return (*uint64)(unsafe.Pointer(&m.data[off]))
}

func (m *mapping) load(off uint64) uint64 { return atomic.LoadUint64(m.word(off)) }

func (m *mapping) store(off, v uint64) { atomic.StoreUint64(m.word(off), v) }

func (m *mapping) add(off, delta uint64) uint64 { return atomic.AddUint64(m.word(off), delta) }

// fileSize returns the size of the file on disk.
func (f *file) fileSize() (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, fmt.Errorf("stat: %w", err)
	}
	return st.Size, nil
}

// ensure makes sure [0, need) is mapped and known to be in the file, remapping
// when another process grew the file past this process's view. It reports false
// when the header does not promise that many bytes.
func (f *file) ensure(need int64) bool {
	if need <= f.limit.Load() {
		return true
	}
	m := f.m.Load()
	published := int64(m.load(hdrFileSize))
	if need > published {
		return false
	}
	if published > int64(len(m.data)) {
		if err := f.remap(published); err != nil {
			return false
		}
		m = f.m.Load()
	}
	f.raiseLimit(min(published, int64(len(m.data))))
	return need <= f.limit.Load()
}

// remap replaces the mapping with a larger one; the old one is kept until close.
func (f *file) remap(size int64) error {
	f.remapMu.Lock()
	defer f.remapMu.Unlock()
	old := f.m.Load()
	if int64(len(old.data)) >= size {
		return nil
	}
	m, err := mapFile(f.fd, size, reserveFor(2*size, 0), f.readOnly)
	if err != nil {
		return err
	}
	f.retired = append(f.retired, old)
	f.m.Store(m)
	return nil
}

// growTo makes the file at least size bytes long with its blocks reserved, so
// that a full disk is an error here and never a SIGBUS later, and maps it in
// this process. It does not publish the size: the growing transaction's log
// does (hdrFileSize), so other processes only learn of the new pages once
// something refers to them, and a power loss never leaves a header promising
// a length the disk lost. The file never shrinks.
func (f *file) growTo(size int64) error {
	cur, err := f.fileSize()
	if err != nil {
		return err
	}
	if size > cur {
		if err := unix.Ftruncate(f.fd, size); err != nil {
			return fmt.Errorf("grow to %d bytes: %w", size, err)
		}
	}
	// Reserve from the published size, not the current one: a writer that died
	// between its ftruncate and its reservation left a tail without blocks.
	published := int64(f.m.Load().load(hdrFileSize))
	if size > published {
		if err := reserveBlocks(f.fd, published, size-published); err != nil {
			if size > cur {
				_ = unix.Ftruncate(f.fd, cur) // nobody uses the new tail yet
			}
			return fmt.Errorf("grow to %d bytes: %w", size, err)
		}
	}
	if int64(len(f.m.Load().data)) < size {
		if err := f.remap(size); err != nil {
			return err
		}
	}
	if lim := f.limit.Load(); lim < size {
		// The writer is about to fill the new pages: fault them in now, in one
		// call, rather than one write fault at a time (a third of the cost).
		prefault(f.m.Load().data[lim:size])
	}
	f.raiseLimit(size)
	return nil
}

// raiseLimit records that [0, size) is in the file and in the mapping.
func (f *file) raiseLimit(size int64) {
	for {
		cur := f.limit.Load()
		if size <= cur || f.limit.CompareAndSwap(cur, size) {
			return
		}
	}
}

// mapped makes sure the mapping covers [0, size) of a file at least that long.
func (f *file) mapped(size uint64) bool {
	if size > maxFileSize {
		return false
	}
	if int64(len(f.m.Load().data)) < int64(size) {
		if err := f.remap(int64(size)); err != nil {
			return false
		}
	}
	return true
}

// spanTo returns a reader of the file's bytes below length (the file's real
// length, not the header's promise): recovery reads logs and the records they
// name before the header may say the file holds them.
func (f *file) spanTo(length uint64) func(off uint64, n int) ([]byte, bool) {
	return func(off uint64, n int) ([]byte, bool) {
		end := off + uint64(n)
		if n < 0 || end < off || end > length || !f.mapped(end) {
			return nil, false
		}
		return f.m.Load().data[off:end], true
	}
}

// testSyncFault, set only by tests, makes a flush fail as a failing disk
// does (EIO) before it reaches the system.
var testSyncFault func() error

// sync flushes the file's dirty pages to the device.
func (f *file) sync() error {
	if testSyncFault != nil {
		if err := testSyncFault(); err != nil {
			return err
		}
	}
	return syncFile(f.fd, f.m.Load().data[:f.limit.Load()])
}

func (f *file) close() error {
	var errs []error
	for _, m := range append(f.retired, f.m.Load()) {
		if m != nil {
			errs = append(errs, unix.Munmap(m.data))
		}
	}
	f.retired = nil
	f.m.Store(nil)
	errs = append(errs, f.f.Close())
	return errors.Join(errs...)
}

// le is the byte order of the file.
var le = binary.LittleEndian
