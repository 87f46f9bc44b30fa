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

	formatVersion = 1
	// maxFileSize is the largest file a slot can address: 37 bits of 8-byte units.
	maxFileSize = 1 << 40
)

// fileMagic opens every mapkv file.
var fileMagic = [8]byte{'m', 'a', 'p', 'k', 'v', 0, 'd', 'b'}

// Header page (page 0). The first 64 bytes are written once at creation and
// covered by a checksum; the rest are counters and pointers.
const (
	hdrMagic    = 0  // [8]byte
	hdrVersion  = 8  // u32
	hdrPageSize = 12 // u32
	hdrSeed     = 16 // u64: per-file hash seed
	hdrMaxSize  = 24 // u64: 0 = unbounded
	hdrFlags    = 32 // u64: file settings (flagEvict)
	hdrCreated  = 40 // u64: unix milliseconds
	hdrSum      = 56 // u64: xxhash of bytes [0, 56)
	hdrFixedEnd = 64

	// Read by lock-free readers; written rarely (its own cache line).
	hdrTable    = 64 // u64: table offset | log2(slots)
	hdrFileSize = 72 // u64: bytes of the file that may be used
	// A deletion that shifts entries back stores hdrMoveStart = n before its
	// slot stores and hdrMoveEnd = n after them (docs/concurrency.md, "Deletion").
	hdrMoveStart = 80 // u64
	hdrMoveEnd   = 88 // u64

	// Writer bookkeeping (another cache line). Stored directly: hdrState,
	// hdrPendingLog, hdrWriterPID. Everything else changes through the redo log.
	hdrState      = 128 // u64: stateCreating until the file is initialised
	hdrPendingLog = 136 // u64: offset of a committed, not yet applied log; 0 = none
	hdrWriterPID  = 144 // u64: pid of the process holding the writer lock
	hdrHighWater  = 152 // u64: end of allocated pages
	hdrFreeHead   = 160 // u64: first free page, 0 = none
	hdrFreePages  = 168 // u64
	hdrLogOff     = 176 // u64: the log region
	hdrLogCap     = 184 // u64: its size in bytes
	hdrKeys       = 192 // u64: live keys
	hdrTombs      = 200 // u64: tombstone slots
	hdrLiveBytes  = 208 // u64: bytes of allocated record space
	hdrMaxProbe   = 216 // u64: longest probe distance since the last rehash
	hdrGrowths    = 224 // u64: file growths (stored directly)
	hdrRehashes   = 232 // u64
	hdrCommits    = 240 // u64
	hdrTTLKeys    = 248 // u64: records that carry an expiry (0: writers skip reclaiming)

	hdrClassHeads = 256 // [numClasses]u64: first slab page with free objects per class
	hdrEnd        = hdrClassHeads + 8*64
	hdrReclaimAt  = hdrEnd      // u64: slot index where writers next look for expired records
	hdrClockHand  = hdrEnd + 8  // u64: slot index where eviction looks next
	hdrEvictions  = hdrEnd + 16 // u64: entries evicted
	hdrExpired    = hdrEnd + 24 // u64: expired entries reclaimed

	// Watch (watch.go), on a cache line of their own: writers touch them only
	// while someone watches.
	hdrWatchSeq   = 1024 // u32 futex word: bumped by a write while watchers wait
	hdrWatchUntil = 1032 // u64: unix ms until which a watcher may be waiting
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

// A slab page: word 0 = kind | class<<8 | used<<16, word 1 = next and word 2 =
// previous page in its class list, words 3-6 = bitmap of used objects, objects
// from slabHeader on.
const (
	slabNext    = 8
	slabPrev    = 16
	slabBitmap  = 24
	slabHeader  = 64
	slabSpace   = PageSize - slabHeader
	chainNext   = 8
	chainHeader = 16
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

// encodeRecordHeader fills the header of a record whose key and value are
// already in place at rec[hdr:]; it computes the checksum last.
func sealRecord(rec []byte, klen, vlen int, flags uint16, expiry int64) {
	binary.LittleEndian.PutUint16(rec[4:], uint16(klen))
	binary.LittleEndian.PutUint16(rec[6:], flags)
	binary.LittleEndian.PutUint32(rec[8:], uint32(vlen))
	if flags&recExpires != 0 {
		binary.LittleEndian.PutUint64(rec[12:], uint64(expiry))
	}
	binary.LittleEndian.PutUint32(rec[0:], uint32(xxhash.Sum64(rec[4:])))
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
}

func writeFixedHeader(p []byte, h headerFields) {
	copy(p[hdrMagic:], fileMagic[:])
	binary.LittleEndian.PutUint32(p[hdrVersion:], h.version)
	binary.LittleEndian.PutUint32(p[hdrPageSize:], h.pageSize)
	binary.LittleEndian.PutUint64(p[hdrSeed:], h.seed)
	binary.LittleEndian.PutUint64(p[hdrMaxSize:], h.maxSize)
	binary.LittleEndian.PutUint64(p[hdrFlags:], h.flags)
	binary.LittleEndian.PutUint64(p[hdrCreated:], h.created)
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
	}
	if got, want := binary.LittleEndian.Uint64(p[hdrSum:]), xxhash.Sum64(p[:hdrSum]); got != want {
		return h, fmt.Errorf("header checksum mismatch (%#x, want %#x): %w", got, want, ErrCorrupt)
	}
	if h.version != formatVersion {
		return h, fmt.Errorf("format version %d, this build reads version %d: %w", h.version, formatVersion, ErrCorrupt)
	}
	if h.pageSize != PageSize {
		return h, fmt.Errorf("page size %d, this build uses %d: %w", h.pageSize, PageSize, ErrCorrupt)
	}
	if h.flags&^fileFlagsKnown != 0 {
		return h, fmt.Errorf("unknown file flags %#x (newer format?): %w", h.flags, ErrCorrupt)
	}
	return h, nil
}
