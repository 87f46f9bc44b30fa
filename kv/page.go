package kv

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// The layout of data pages and records (docs/format.md, "Data pages" and
// "Records"): page kinds, the slab and chain page headers with their reuse
// generation, the record header, and the size classes. The header page is in
// format.go, the slot table in index.go, the redo log in log.go, a cache's
// ring and ghost in policy.go.

const (
	// PageSize is the size of every page in the file; it is recorded in the header.
	PageSize = 4096
	// MaxKeySize is the longest key accepted.
	MaxKeySize = 1<<16 - 1
	// MaxValueSize is the longest value accepted.
	MaxValueSize = 64 << 20

	// maxFileSize is the largest file a slot can address: 35 bits of 8-byte
	// units, 256 GiB (the slot's other bits are the tag's, docs/format.md).
	maxFileSize = 1 << 38
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
