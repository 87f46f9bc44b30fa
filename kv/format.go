package kv

import (
	"encoding/binary"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// The header page (page 0) and the format's version: every word of it, who
// writes it, and how its fixed part is encoded and checked. docs/format.md
// is the reference this code follows; every integer is little-endian, every
// field that changes after creation is an aligned 8-byte word (one atomic
// load or store). The other structures have a file each: data pages and
// records in page.go, the slot table in index.go, the redo log in log.go, a
// cache's ring and ghost in policy.go.

// formatVersion is the version this build writes and reads. A file of any
// other version is refused (docs/format.md, "Versions").
const formatVersion = 2

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

// Cache mode's words (policy.go), made at creation after the slot table.
const (
	hdrRingOff      = hdrEnd + 32 // u64: the ring of references (8 bytes each)
	hdrRingCap      = hdrEnd + 40 // u64: references it holds
	hdrRingHead     = hdrEnd + 48 // u64: references popped so far (the oldest is head % cap)
	hdrRingTail     = hdrEnd + 56 // u64: references pushed so far
	hdrSmallBytes   = hdrEnd + 64 // u64: record space of the entries the ring refers to
	hdrSmallCap     = hdrEnd + 72 // u64: the small FIFO's share of the record space
	hdrGhostOff     = hdrEnd + 80 // u64: the ghost: buckets of ghostWays 32-bit words
	hdrGhostBuckets = hdrEnd + 88 // u64: a power of two
	hdrGhostInserts = hdrEnd + 96 // u64: fingerprints inserted so far (the ghost's clock)
	// hdrMainFilled is 1 once the cache has been full: when it first is, the
	// small FIFO's oldest entries move to main instead of being evicted until
	// the small FIFO is down to its share, so that a cache filling for the
	// first time keeps what it was given (Clear resets it).
	hdrMainFilled = hdrEnd + 104 // u64
)

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
	// The version first: its place is fixed in every version, while the
	// checksum (and all the rest) is what this version defines.
	switch {
	case h.version > formatVersion:
		return h, fmt.Errorf("format version %d is newer than this build's %d: open it with a newer mapkv: %w: %w", h.version, formatVersion, ErrVersion, ErrCorrupt)
	case h.version != formatVersion:
		return h, fmt.Errorf("format version %d, this build reads only version %d: copy the data with the mapkv that wrote it (kvtool dump, then load): %w: %w", h.version, formatVersion, ErrVersion, ErrCorrupt)
	}
	if got, want := binary.LittleEndian.Uint64(p[hdrSum:]), xxhash.Sum64(p[:hdrSum]); got != want {
		return h, fmt.Errorf("header checksum mismatch (%#x, want %#x): %w", got, want, ErrCorrupt)
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
