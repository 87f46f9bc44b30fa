//go:build unix

package kv

import (
	"bytes"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// The lock-free read path (docs/concurrency.md, "Readers"). A reader loads a
// slot, copies the record it points at, then loads the slot again: a record is
// never changed while a slot points at it, so an unchanged slot means the copy
// is whole, and the record's checksum guards against the rare reuse of the
// same space in between. A reader that finds the table moved starts over.

// Results of reading a record for a key.
const (
	recMiss    = iota // another key
	recHit            // the key; value appended
	recExpired        // the key, but its time is up
	recBad            // bytes that are not a whole record
)

// maxAttempts bounds a reader's retries; each retry follows a change a writer
// made, so a reader only runs out when writers churn one slot without pause.
const maxAttempts = 1 << 16

// badReads is how many times a reader re-reads a record that fails its
// checks while its slot seems unchanged, before calling it damage. A writer
// that freed the record, reused its space and published it again in the same
// slot (ABA) can tear one copy, not several in a row: real damage persists.
const badReads = 8

// maxUnfinished bounds how long a reader waits for a deletion's moves to end.
const maxUnfinished = 1000

// cacheLine is the line size readers plan their loads around.
const cacheLine = 64

// lookup appends the value of key to dst.
func (db *DB) lookup(dst, key []byte, info *readInfo) ([]byte, error) {
	h := hashKey(db.seed, key)
	tag := h >> tagShift
	f := db.f
	start := len(dst)
	bad, unfinished := 0, 0
retry:
	for attempt := 0; attempt < maxAttempts; attempt++ {
		dst = dst[:start]
		m := f.m.Load()
		tw := m.load(hdrTable)
		moveStart, moveEnd := m.load(hdrMoveStart), m.load(hdrMoveEnd)
		toff, log2 := tableParts(tw)
		if !tableInFile(f, toff, log2) {
			return dst, fmt.Errorf("kv: %s: slot table %d (2^%d slots) outside the file: %w", f.path, toff, log2, ErrCorrupt)
		}
		m = f.m.Load()
		mask := uint64(1)<<log2 - 1
		i := h >> (64 - log2)
		for d := uint64(0); d <= mask; d++ {
			pos := toff + 8*i
			s := m.load(pos)
			if s == 0 {
				break
			}
			if s != slotTomb && slotTag(s) == tag {
				var st int
				dst, st = db.readValue(slotOff(s), key, dst[:start], info)
				if !sameSlot(m.load(pos), s) {
					continue retry
				}
				switch st {
				case recHit:
					if s&refBit == 0 && db.evict && !db.readOnly {
						atomic.CompareAndSwapUint64(m.word(pos), s, s|refBit)
					}
					return dst, nil
				case recExpired:
					return dst[:start], ErrNotFound
				case recBad:
					if bad++; m.load(hdrTable) != tw || bad < badReads {
						continue retry
					}
					return dst[:start], fmt.Errorf("kv: %s: page %d offset %d: damaged record: %w",
						f.path, slotOff(s)/PageSize, slotOff(s)%PageSize, ErrCorrupt)
				}
			}
			i = (i + 1) & mask
		}
		if m.load(hdrTable) != tw {
			continue
		}
		// A miss is only sure if no deletion moved entries meanwhile: one may
		// have carried the key back past this probe. A move in progress when
		// the probe began counts too, unless it never ends (its writer died
		// mid-apply and no writer has come since to finish it).
		if m.load(hdrMoveStart) != moveStart {
			continue
		}
		if moveStart != moveEnd && unfinished < maxUnfinished {
			unfinished++
			runtime.Gosched()
			continue
		}
		return dst[:start], ErrNotFound
	}
	return dst[:start], fmt.Errorf("kv: %s: key kept changing under %d reads: %w", f.path, maxAttempts, ErrLocked)
}

// tableInFile reports whether a table word read from the file describes a
// table inside it. The arithmetic stays unsigned and below the format's bound,
// so a damaged word cannot wrap around into a small number.
func tableInFile(f *file, toff uint64, log2 uint) bool {
	return log2 >= minLog2 && log2 <= maxLog2 && toff >= PageSize && toff%PageSize == 0 &&
		toff < maxFileSize && 8<<log2 <= maxFileSize-toff && f.ensure(int64(toff+8<<log2))
}

// span returns n bytes of the file at off, or false if the file (as its header
// says) does not hold them.
func (f *file) span(off uint64, n int) ([]byte, bool) {
	end := off + uint64(n)
	if end < off || !f.ensure(int64(end)) {
		return nil, false
	}
	return f.m.Load().data[off:end], true
}

// readValue reads the record at off; when it holds key it appends the value to
// dst and checks the checksum over exactly the bytes returned.
func (db *DB) readValue(off uint64, key, dst []byte, info *readInfo) ([]byte, int) {
	if off < PageSize || off%8 != 0 {
		return dst, recBad
	}
	var hb [recHeader + 8]byte
	in := off % PageSize
	raw, ok := db.f.span(off, int(min(PageSize-in, 2*cacheLine)))
	if !ok || len(raw) < recHeader {
		return dst, recBad
	}
	if len(raw) > cacheLine {
		// Touch the record's second cache line now, with an address that does
		// not depend on the first line's bytes, so that both misses overlap
		// instead of following each other. An atomic load is never elided.
		_ = atomic.LoadUint32((*uint32)(unsafe.Pointer(&raw[cacheLine])))
	}
	copy(hb[:], raw)
	r, ok := parseRecordHeader(hb[:])
	if !ok {
		return dst, recBad
	}
	if r.klen != len(key) {
		return dst, db.missOrBad(off)
	}
	size := r.size()
	start := len(dst)
	if size <= maxSlabRecord {
		if in := int(off % PageSize); in < slabHeader || in+size > PageSize {
			return dst, recBad
		}
		rec, ok := db.f.span(off, size)
		if !ok {
			return dst, recBad
		}
		if !bytes.Equal(rec[r.hdr:r.hdr+r.klen], key) {
			return dst, db.missOrBad(off) // before copying: a miss allocates nothing
		}
		// Copy the record once, check the copy (header as parsed, key, sum),
		// then slide the value down over the header and key.
		dst = append(dst, rec[4:]...)
		body := dst[start:]
		k := r.hdr - 4
		if !bytes.Equal(body[:k], hb[4:r.hdr]) {
			return dst[:start], recBad // the header changed while we copied
		}
		if !bytes.Equal(body[k:k+r.klen], key) {
			return dst[:start], db.missOrBad(off)
		}
		if uint32(xxhash.Sum64(body)) != r.sum {
			return dst[:start], recBad
		}
		n := copy(body, body[k+r.klen:])
		dst = dst[:start+n]
		return db.expiryCheck(r, dst, start, off, info)
	} else {
		if off%PageSize != chainHeader {
			return dst, recBad
		}
		pos, match := 0, true
		ok := db.walkChain(off, size, func(b []byte) bool {
			if k := r.hdr + r.klen; pos < k {
				lo, hi := max(pos, r.hdr), min(pos+len(b), k)
				if lo < hi && !bytes.Equal(b[lo-pos:hi-pos], key[lo-r.hdr:hi-r.hdr]) {
					match = false
					return false
				}
				if pos+len(b) > k {
					dst = append(dst, b[k-pos:]...)
				}
			} else {
				dst = append(dst, b...)
			}
			pos += len(b)
			return true
		})
		if !match {
			return dst[:start], db.missOrBad(off)
		}
		if !ok {
			return dst[:start], recBad
		}
	}
	var d xxhash.Digest
	d.Reset()
	d.Write(hb[4:r.hdr])
	d.Write(key)
	d.Write(dst[start:])
	if uint32(d.Sum64()) != r.sum {
		return dst[:start], recBad
	}
	return db.expiryCheck(r, dst, start, off, info)
}

// readInfo is what a reader may want to know besides the value.
type readInfo struct {
	expiry int64  // unix milliseconds, 0 for none
	flags  uint16 // the record's flags
	sum    uint32 // the record's checksum
	off    uint64 // the record's offset
}

// version is a key's version as Watch reports it: it changes whenever the
// key's record is replaced by different content. 0 means absent.
func (r readInfo) version() uint64 {
	return ((r.off>>3)*0x9E3779B97F4A7C15 ^ uint64(r.sum)) | 1<<63
}

// expiryCheck hides an expired record (and a pending GetOrCompute lease) and
// reports a live one's details.
func (db *DB) expiryCheck(r recordMeta, dst []byte, start int, off uint64, info *readInfo) ([]byte, int) {
	gone := r.flags&recExpires != 0 && r.expiry <= time.Now().UnixMilli()
	if info != nil {
		*info = readInfo{expiry: r.expiry, flags: r.flags, sum: r.sum, off: off}
	}
	if gone || r.flags&recPending != 0 {
		return dst[:start], recExpired
	}
	return dst, recHit
}

// missOrBad tells a record of another key (its tag collided with ours) from a
// torn copy that only looks like one: only a whole record is a miss. Tag
// collisions are rare, so this costs little.
func (db *DB) missOrBad(off uint64) int {
	raw, ok := db.f.span(off, recHeader+8)
	if !ok {
		return recBad
	}
	r, ok := parseRecordHeader(raw)
	if !ok {
		return recBad
	}
	if size := r.size(); size <= maxSlabRecord {
		// Hashing the bytes in place is enough here: a change under the hash
		// fails it, and a failure only costs a retry.
		rec, ok := db.f.span(off, size)
		if !ok || int(off%PageSize)+size > PageSize || !recordSumOK(rec, r) {
			return recBad
		}
		return recMiss
	}
	if _, _, st := db.readRecord(off, nil); st != recHit {
		return recBad
	}
	return recMiss
}

// walkChain calls fn with successive pieces of the first n bytes of the chained
// record at off, following page links read from the mapping. It reports false
// if a link or page is not what a chain must be (a writer may have freed it).
func (db *DB) walkChain(off uint64, n int, fn func([]byte) bool) bool {
	p := off - chainHeader
	for i, pages := 0, chainPages(n); i < pages; i++ {
		if p < PageSize || p%PageSize != 0 {
			return false
		}
		page, ok := db.f.span(p, PageSize)
		if !ok || le.Uint64(page)&0xff != kindChain {
			return false
		}
		take := min(chainSpace, n-i*chainSpace)
		if !fn(page[chainHeader : chainHeader+take]) {
			return false
		}
		p = db.f.m.Load().load(p + chainNext)
	}
	return true
}

// recordSumOK checks a whole record's checksum.
func recordSumOK(rec []byte, r recordMeta) bool {
	return len(rec) >= r.size() && uint32(xxhash.Sum64(rec[4:r.size()])) == r.sum
}
