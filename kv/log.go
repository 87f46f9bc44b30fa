//go:build unix

package kv

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// The redo log (docs/format.md, "The redo log"). Two regions of logPages pages
// each follow the header page. The log of transaction n goes to region n%2, so
// writing the log of n+1 never touches the log of n: after a power loss,
// recovery may need log n until the words n changed in place are on disk,
// which the next durable commit's flush guarantees. A log is self-validating:
// it names its transaction's sequence number, carries a checksum over itself
// and, for a durable commit, the hashes of the record bytes and fresh table it
// refers to, so a log whose commit never completed cannot pass for a committed
// one.

const (
	logMagic       = 0x32676f6c766b706d // "mpkvlog2"
	logSeqOff      = 8                  // u64: the transaction's sequence number
	logCountsOff   = 16                 // u32 entries | u32 extents << 32
	logOverflowOff = 24                 // u64: first overflow page, 0 = none
	logSumOff      = 32                 // u64: xxhash64 of bytes [8, 32) and the payload
	logPayload     = 64                 // entries, then extents

	// A log too large for its region continues in overflow pages borrowed
	// from the free list for the length of one transaction: their first
	// three words (kind, free-list link, generation) stay as they are.
	overflowNext    = 24 // u64: next overflow page, 0 = last
	overflowPayload = 32

	entrySize  = 16 // u64 offset, u64 value
	extentSize = 24 // u64 offset, u64 size | extentTable, u64 hash

	// extentTable marks the extent of a fresh slot table, whose hash is that
	// of its words with their use bits cleared (readers change those without
	// the log after the commit). Without it an extent is a record at offset
	// whose bytes [4, size) hash to the extent's hash, the record's checksum
	// being that hash's low 32 bits.
	extentTable = 1 << 63

	// defaultLogPages is the size of each log region of a new file: 16 KiB,
	// about a thousand entries, more than any operation of the store needs
	// except a large Update.
	defaultLogPages = 4
	maxLogPages     = 256
	// maxLogBytes bounds a log's payload, so that a damaged count cannot make
	// recovery read without end.
	maxLogBytes = 1 << 32
)

// regionOff is the offset of the log region of transaction seq.
func regionOff(seq uint64, logPages uint64) uint64 { return PageSize * (1 + (seq%2)*logPages) }

// logRegionsEnd is the end of the two log regions.
func logRegionsEnd(logPages uint64) uint64 { return PageSize * (1 + 2*logPages) }

// extent is a range of bytes a transaction wrote in place, outside the log:
// a record, or a fresh table.
type extent struct {
	off, size, hash uint64
}

// logRecord is a decoded log.
type logRecord struct {
	seq      uint64
	entries  []byte // entrySize each
	extents  []byte // extentSize each
	overflow []uint64
}

func (l logRecord) entryCount() int { return len(l.entries) / entrySize }

// entry returns the i-th (offset, value) pair.
func (l logRecord) entry(i int) (off, v uint64) {
	return le.Uint64(l.entries[i*entrySize:]), le.Uint64(l.entries[i*entrySize+8:])
}

// value returns the value the log gives the word at off, if any.
func (l logRecord) value(off uint64) (uint64, bool) {
	for i := l.entryCount() - 1; i >= 0; i-- {
		if o, v := l.entry(i); o == off {
			return v, true
		}
	}
	return 0, false
}

// readLog decodes the log of transaction seq if its region holds one that
// checks out: magic, sequence number, bounded counts, overflow pages inside
// limit, checksum, and entries that target only words a log may change. span
// returns n bytes at off, or false (the caller's view of the file). It never
// trusts a byte it reads.
func readLog(span func(off uint64, n int) ([]byte, bool), seq, logPages, limit uint64) (logRecord, bool) {
	base := regionOff(seq, logPages)
	head, ok := span(base, logPayload)
	if !ok || le.Uint64(head) != logMagic || le.Uint64(head[logSeqOff:]) != seq {
		return logRecord{}, false
	}
	counts := le.Uint64(head[logCountsOff:])
	nEntries, nExtents := counts&0xffffffff, counts>>32
	total := nEntries*entrySize + nExtents*extentSize
	if total > maxLogBytes || total > limit {
		return logRecord{}, false
	}
	payload := make([]byte, 0, total)
	first := min(total, logPages*PageSize-logPayload)
	b, ok := span(base+logPayload, int(first))
	if !ok {
		return logRecord{}, false
	}
	payload = append(payload, b...)
	var overflow []uint64
	next := le.Uint64(head[logOverflowOff:])
	for uint64(len(payload)) < total {
		if next == 0 || next%PageSize != 0 || next < logRegionsEnd(logPages) || next+PageSize > limit {
			return logRecord{}, false
		}
		page, ok := span(next, PageSize)
		if !ok {
			return logRecord{}, false
		}
		overflow = append(overflow, next)
		take := min(total-uint64(len(payload)), PageSize-overflowPayload)
		payload = append(payload, page[overflowPayload:overflowPayload+take]...)
		next = le.Uint64(page[overflowNext:])
	}
	var d xxhash.Digest
	d.Reset()
	d.Write(head[logSeqOff:logSumOff])
	d.Write(payload)
	if d.Sum64() != le.Uint64(head[logSumOff:]) {
		return logRecord{}, false
	}
	l := logRecord{seq: seq, entries: payload[:nEntries*entrySize], extents: payload[nEntries*entrySize:], overflow: overflow}
	for i := 0; i < l.entryCount(); i++ {
		if off, _ := l.entry(i); !loggable(off, logPages, limit) {
			return logRecord{}, false
		}
	}
	return l, true
}

// loggable reports whether a log entry may target the word at off: an aligned
// word inside the file, outside the fixed header, the directly written words
// and the log regions.
func loggable(off, logPages, limit uint64) bool {
	switch {
	case off%8 != 0 || off < hdrFixedEnd || off+8 > limit:
		return false
	case off == hdrState || off == hdrWriterPID || off >= hdrWatchSeq && off < PageSize:
		return false
	case off >= PageSize && off < logRegionsEnd(logPages):
		return false
	}
	return true
}

// applyLog stores every entry, in order, each with one atomic store.
func applyLog(m *mapping, l logRecord) {
	for i := 0; i < l.entryCount(); i++ {
		m.store(l.entry(i))
	}
}

// logWriter lays a log's payload out over its region and overflow pages.
type logWriter struct {
	m        *mapping
	base     uint64
	logPages uint64
	overflow []uint64
}

// write stores the header and payload of the log of seq. The magic goes last,
// so that a log is only recognised once the rest of it is in place.
func (w logWriter) write(seq uint64, nEntries, nExtents int, payload []byte) {
	data := w.m.data
	head := data[w.base : w.base+logPayload]
	w.m.store(w.base, 0)
	clear(head[logSeqOff:])
	rest := payload[copy(data[w.base+logPayload:w.base+w.logPages*PageSize], payload):]
	first := uint64(0)
	for i, p := range w.overflow {
		if i == 0 {
			first = p
		} else {
			le.PutUint64(data[w.overflow[i-1]+overflowNext:], p)
		}
		rest = rest[copy(data[p+overflowPayload:p+PageSize], rest):]
		le.PutUint64(data[p+overflowNext:], 0)
	}
	le.PutUint64(head[logSeqOff:], seq)
	le.PutUint64(head[logCountsOff:], uint64(nEntries)|uint64(nExtents)<<32)
	le.PutUint64(head[logOverflowOff:], first)
	var d xxhash.Digest
	d.Reset()
	d.Write(head[logSeqOff:logSumOff])
	d.Write(payload)
	le.PutUint64(head[logSumOff:], d.Sum64())
	w.m.store(w.base, logMagic)
}

// overflowPages is how many overflow pages a payload of n bytes needs.
func overflowPages(n int, logPages uint64) int {
	room := int(logPages*PageSize - logPayload)
	if n <= room {
		return 0
	}
	per := PageSize - overflowPayload
	return (n - room + per - 1) / per
}

func (e extent) String() string { return fmt.Sprintf("%d+%d", e.off, e.size&^extentTable) }

// tableHash hashes a slot table's words with their use bits cleared.
func tableHash(b []byte) uint64 {
	var d xxhash.Digest
	d.Reset()
	var chunk [PageSize]byte
	for len(b) > 0 {
		n := copy(chunk[:], b)
		for i := 0; i+8 <= n; i += 8 {
			le.PutUint64(chunk[i:], le.Uint64(chunk[i:])&^useBits)
		}
		d.Write(chunk[:n])
		b = b[n:]
	}
	return d.Sum64()
}
