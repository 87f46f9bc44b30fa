package kv

import (
	"encoding/binary"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// The on-disk layout. docs/format.md is the reference; this file is its code.
// Every integer is little-endian. Offsets are byte offsets from the start of
// the file. All fields that change after creation are aligned 8-byte words so
// that they can be published with one atomic store.

const (
	// PageSize is the size of every page in the file; it is recorded in the header.
	PageSize = 4096
	// MaxKeySize is the longest key accepted.
	MaxKeySize = 1<<16 - 1
	// MaxValueSize is the longest value accepted.
	MaxValueSize = 64 << 20

	// formatVersion is the version this build writes and reads. A file of
	// another version is refused (docs/format.md, "Versions").
	formatVersion = 2
	// maxFileSize is the largest file a slot can address: 37 bits of 8-byte units.
	maxFileSize = 1 << 40
)

// fileMagic opens every mapkv file.
var fileMagic = [8]byte{'m', 'a', 'p', 'k', 'v', 0, 'd', 'b'}

// Header page (page 0). The first 64 bytes are written once at creation and
// covered by a checksum; the rest are words that change while the file is in
// use, grouped by who reads them.
const (
	hdrMagic    = 0  // [8]byte
	hdrVersion  = 8  // u32
	hdrPageSize = 12 // u32
	hdrSeed     = 16 // u64: per-file hash seed
	hdrMaxSize  = 24 // u64: 0 = unbounded
	hdrFlags    = 32 // u64: file settings (flagEvict)
	hdrCreated  = 40 // u64: unix milliseconds
	hdrLogPages = 48 // u32: pages of each of the two log regions; u32 at 52 is 0
	hdrSum      = 56 // u64: xxhash of bytes [0, 56)
	hdrFixedEnd = 64

	// The readers' cache line: every Get loads these, writers change them
	// rarely (a rehash, a growth, a transaction whose deletion moves slots).
	hdrTable    = 64 // u64: table offset | log2(slots)
	hdrFileSize = 72 // u64: bytes of the file that may be used
	// The window: sequence numbers of the last transaction whose apply
	// readers must not see in part (a deletion moving slots, an Update of
	// several keys), stored first and last by its log (docs/concurrency.md,
	// "Windows").
	hdrWindowStart = 80 // u64
	hdrWindowEnd   = 88 // u64

	// The writers' words. hdrState and hdrWriterPID are stored directly;
	// everything else changes only through the redo log.
	hdrState      = 128 // u64: stateCreating until the file is initialised
	hdrApplied    = 136 // u64: sequence number of the last fully applied log (its last entry)
	hdrWriterPID  = 144 // u64: pid of the process holding the writer lock (a hint)
	hdrHighWater  = 152 // u64: end of allocated pages
	hdrFreeHead   = 160 // u64: first free page, 0 = none
	hdrFreePages  = 168 // u64
	hdrApplying   = 176 // u64: sequence number of the log being applied (its first entry)
	hdrLeases     = 184 // u64: GetOrCompute leases in the table
	hdrKeys       = 192 // u64: slots that point at records (leases and expired records included)
	hdrLiveBytes  = 208 // u64: bytes of allocated record space
	hdrMaxProbe   = 216 // u64: an upper bound of every entry's probe distance
	hdrGrowths    = 224 // u64: file growths
	hdrRehashes   = 232 // u64
	hdrCommits    = 240 // u64
	hdrTTLKeys    = 248 // u64: records that carry an expiry (0: writers skip reclaiming)
	hdrClassHeads = 256 // [numClasses]u64: first slab page with free objects per class
	hdrEnd        = hdrClassHeads + 8*64
	hdrReclaimAt  = hdrEnd      // u64: slot index where writers next look for expired records
	hdrClockHand  = hdrEnd + 8  // u64: where eviction looks next (evict.go)
	hdrEvictions  = hdrEnd + 16 // u64: entries evicted
	hdrExpired    = hdrEnd + 24 // u64: expired entries reclaimed

	// Watch (watch.go), on a cache line of their own: writers touch them only
	// while someone watches.
	hdrWatchSeq   = 1024 // u32 futex word: bumped by a write while watchers wait
	hdrWatchUntil = 1032 // u64: unix ms until which a watcher may be waiting

	// Cache-mode read counters, summed over every process by atomic adds
	// outside the log (stats.go), on a line of their own.
	hdrHits   = 1088 // u64
	hdrMisses = 1096 // u64
)

// File settings in hdrFlags.
const (
	flagEvict      = 1 << 0 // at MaxSize, writes evict entries instead of failing
	fileFlagsKnown = flagEvict
)

const (
	stateCreating = 1
	stateReady    = 2
)

// Page kinds, in the low byte of a data page's first word.
const (
	kindFree  = 0x46 // 'F': on the free list; word 1 = next free page
	kindSlab  = 0x53 // 'S': small records of one size class
	kindChain = 0x43 // 'C': one page of a large record; word 1 = next page
)

// Every data page (slab, chain, free) keeps a reuse generation in its third
// word. The allocator adds 1 to it, outside the log, after it writes a record
// into the page, and never resets it, so it only grows over the page's whole
// life whatever the page becomes. A reader loads it before and after copying a
// record: an unchanged generation means nothing was written into the page in
// between (docs/concurrency.md, "Readers").
const pageGen = 16

// chainHead marks the first page of a record's chain (bit 8 of word 0), so
// that a walk over pages can tell where records start.
const chainHead = 1 << 8

// A slab page: word 0 = kind | class<<8 | used<<16, word 1 = next page of its
// class list, word 2 = generation, word 3 = previous page, words 4-7 = bitmap
// of used objects, objects from slabHeader on. A chain page: word 0 = kind
// (| chainHead on the first page), word 1 = next page, word 2 = generation,
// the record's bytes from chainHeader on.
const (
	slabNext    = 8
	slabPrev    = 24
	slabBitmap  = 32
	slabHeader  = 64
	slabSpace   = PageSize - slabHeader
	chainNext   = 8
	chainHeader = 24
	chainSpace  = PageSize - chainHeader
)

// Record layout: a record is either one object in a slab page or a chain of
// whole pages, chosen by its size.
//
//	[0:4]   u32 checksum: low 32 bits of xxhash64 of the record from byte 4 on
//	[4:6]   u16 key length
//	[6:8]   u16 flags
//	[8:12]  u32 value length
//	[12:20] i64 expiry, unix milliseconds, present when flags&recExpires
//	key, value
const (
	recHeader  = 12
	recExpires = 1 << 0
	recPending = 1 << 1 // a GetOrCompute lease, not a value: readers see no key
	recFlagsOK = recExpires | recPending
)

// sizeClasses are the object sizes of slab pages: multiples of 8 up to 128,
// then steps of about 1/8 (so at most ~12% of a record's space is padding),
// ending with the largest object two of which fill a page.
var sizeClasses = []int{
	16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128,
	144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 448, 504,
	576, 672, 800, 1008, 1152, 1344, 1600, 2016,
}

// maxSlabRecord is the largest record stored in a slab; larger ones are chains.
var maxSlabRecord = sizeClasses[len(sizeClasses)-1]

// classIndex maps (size+7)/8 to the smallest class that holds it.
var classIndex [2016/8 + 1]uint8

func init() {
	c := 0
	for i := range classIndex {
		for sizeClasses[c] < i*8 {
			c++
		}
		classIndex[i] = uint8(c)
	}
}

func classFor(size int) int { return int(classIndex[(size+7)/8]) }

func objectsPerPage(class int) int { return slabSpace / sizeClasses[class] }

// recordSize is the number of bytes a record with these lengths occupies.
func recordSize(klen, vlen int, expires bool) int {
	n := recHeader + klen + vlen
	if expires {
		n += 8
	}
	return n
}

// chainPages is the number of pages a chained record of n bytes spans.
func chainPages(n int) int { return (n + chainSpace - 1) / chainSpace }

// sealRecord fills the header of a record whose key and value are already in
// place at rec[hdr:]; it computes the checksum last and returns the whole
// 64-bit hash, whose low 32 bits are the checksum (the redo log keeps it to
// verify the record after a power loss).
func sealRecord(rec []byte, klen, vlen int, flags uint16, expiry int64) uint64 {
	binary.LittleEndian.PutUint16(rec[4:], uint16(klen))
	binary.LittleEndian.PutUint16(rec[6:], flags)
	binary.LittleEndian.PutUint32(rec[8:], uint32(vlen))
	if flags&recExpires != 0 {
		binary.LittleEndian.PutUint64(rec[12:], uint64(expiry))
	}
	h := xxhash.Sum64(rec[4:])
	binary.LittleEndian.PutUint32(rec[0:], uint32(h))
	return h
}

// recordMeta is a decoded record header.
type recordMeta struct {
	sum    uint32
	klen   int
	vlen   int
	flags  uint16
	expiry int64
	hdr    int // bytes before the key
}

func (r recordMeta) size() int { return r.hdr + r.klen + r.vlen }

// parseRecordHeader decodes and sanity-checks a record header. b holds at
// least the first 20 bytes of the record (or the whole record if shorter).
func parseRecordHeader(b []byte) (recordMeta, bool) {
	if len(b) < recHeader {
		return recordMeta{}, false
	}
	r := recordMeta{
		sum:   binary.LittleEndian.Uint32(b[0:]),
		klen:  int(binary.LittleEndian.Uint16(b[4:])),
		flags: binary.LittleEndian.Uint16(b[6:]),
		vlen:  int(binary.LittleEndian.Uint32(b[8:])),
		hdr:   recHeader,
	}
	if r.klen == 0 || r.vlen > MaxValueSize || r.flags&^recFlagsOK != 0 {
		return recordMeta{}, false
	}
	if r.flags&recExpires != 0 {
		if len(b) < recHeader+8 {
			return recordMeta{}, false
		}
		r.expiry = int64(binary.LittleEndian.Uint64(b[12:]))
		r.hdr += 8
	}
	return r, true
}

// headerFields are the settings written once at creation.
type headerFields struct {
	version  uint32
	pageSize uint32
	seed     uint64
	maxSize  uint64
	flags    uint64
	created  uint64
	logPages uint32
}

func writeFixedHeader(p []byte, h headerFields) {
	copy(p[hdrMagic:], fileMagic[:])
	binary.LittleEndian.PutUint32(p[hdrVersion:], h.version)
	binary.LittleEndian.PutUint32(p[hdrPageSize:], h.pageSize)
	binary.LittleEndian.PutUint64(p[hdrSeed:], h.seed)
	binary.LittleEndian.PutUint64(p[hdrMaxSize:], h.maxSize)
	binary.LittleEndian.PutUint64(p[hdrFlags:], h.flags)
	binary.LittleEndian.PutUint64(p[hdrCreated:], h.created)
	binary.LittleEndian.PutUint32(p[hdrLogPages:], h.logPages)
	binary.LittleEndian.PutUint64(p[hdrSum:], xxhash.Sum64(p[:hdrSum]))
}

// hasMagic reports whether p starts like a mapkv file.
func hasMagic(p []byte) bool {
	return len(p) >= 8 && string(p[:8]) == string(fileMagic[:])
}

// parseFixedHeader validates the fixed part of a header page.
func parseFixedHeader(p []byte) (headerFields, error) {
	if len(p) < hdrFixedEnd || !hasMagic(p) {
		return headerFields{}, fmt.Errorf("not a mapkv file (bad magic): %w", ErrCorrupt)
	}
	h := headerFields{
		version:  binary.LittleEndian.Uint32(p[hdrVersion:]),
		pageSize: binary.LittleEndian.Uint32(p[hdrPageSize:]),
		seed:     binary.LittleEndian.Uint64(p[hdrSeed:]),
		maxSize:  binary.LittleEndian.Uint64(p[hdrMaxSize:]),
		flags:    binary.LittleEndian.Uint64(p[hdrFlags:]),
		created:  binary.LittleEndian.Uint64(p[hdrCreated:]),
		logPages: binary.LittleEndian.Uint32(p[hdrLogPages:]),
	}
	if got, want := binary.LittleEndian.Uint64(p[hdrSum:]), xxhash.Sum64(p[:hdrSum]); got != want {
		return h, fmt.Errorf("header checksum mismatch (%#x, want %#x): %w", got, want, ErrCorrupt)
	}
	switch {
	case h.version > formatVersion:
		return h, fmt.Errorf("format version %d is newer than this build's %d: open it with a newer mapkv: %w", h.version, formatVersion, ErrCorrupt)
	case h.version != formatVersion:
		return h, fmt.Errorf("format version %d, this build reads only version %d: copy the data with the mapkv that wrote it (kvtool dump, then load): %w", h.version, formatVersion, ErrCorrupt)
	}
	if h.pageSize != PageSize {
		return h, fmt.Errorf("page size %d, this build uses %d: %w", h.pageSize, PageSize, ErrCorrupt)
	}
	if h.logPages < 1 || h.logPages > maxLogPages || binary.LittleEndian.Uint32(p[hdrLogPages+4:]) != 0 {
		return h, fmt.Errorf("log regions of %d pages (1 to %d allowed): %w", h.logPages, maxLogPages, ErrCorrupt)
	}
	if h.flags&^fileFlagsKnown != 0 {
		return h, fmt.Errorf("unknown file flags %#x (newer format?): %w", h.flags, ErrCorrupt)
	}
	return h, nil
}
