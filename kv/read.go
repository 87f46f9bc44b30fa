//go:build unix

package kv

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// The lock-free read path (docs/concurrency.md, "Readers"). A reader loads a
// slot, the generation of the page its record lives in, copies the record,
// then loads the slot, the generation and the table word again. A record is
// never written while a slot points at it, and every write into a page raises
// the page's generation after the bytes are in place, so an unchanged slot,
// generation and table word mean the copy is the committed record the slot
// points at now. While a deletion's slot moves are being applied (the move
// window), the table is between two states; the reader then looks the key up
// in the table as the window's committed log leaves it, so it never waits for
// the writer and never reports a present key missing.

// Results of reading a record for a key.
const (
	readMiss   = iota // another key, or (for a whole probe) no such key
	readHit           // the key; value appended
	readHidden        // the key, but its time is up (or a lease)
	readBad           // bytes that are not a whole record, though nothing changed them
	readRetry         // a writer changed what was read: look again
)

// maxAttempts bounds a reader's retries; each retry follows a change a writer
// made, so a reader only runs out when writers churn what it reads without
// pause. Then it returns ErrBusy.
const maxAttempts = 1 << 16

// cacheLine is the line size readers plan their loads around.
const cacheLine = 64

// slotView is the slot table as a reader sees it: the mapping, or, inside a
// move window, the mapping with the window's log over it (the state after
// that log, whatever part of it has been applied).
type slotView struct {
	m   *mapping
	log *logRecord
}

func (v slotView) load(pos uint64) uint64 {
	if v.log != nil {
		if s, ok := v.log.value(pos); ok {
			return s
		}
	}
	return v.m.load(pos)
}

// readView returns the view a probe that starts now must use, with the table
// word of that state and the move words it was chosen by. ok is false when
// the window's log cannot be read although the window is open (damage).
func (db *DB) readView() (v slotView, tw, moveStart, moveEnd uint64, ok bool) {
	m := db.f.m.Load()
	tw = m.load(hdrTable)
	moveStart, moveEnd = m.load(hdrWindowStart), m.load(hdrWindowEnd)
	v.m = m
	if moveStart == moveEnd {
		return v, tw, moveStart, moveEnd, true
	}
	// The window's log may have grown the file: its overflow pages and the
	// words it changes can lie past the end this handle last knew. Its
	// hdrFileSize entry is applied before the window opens, so the size
	// published now covers them.
	db.f.ensure(int64(m.load(hdrFileSize)))
	v.m = db.f.m.Load() // ensure may have remapped
	l, ok := readLog(db.f.span, moveStart, db.logPages, uint64(db.f.limit.Load()))
	if !ok {
		return v, tw, moveStart, moveEnd, false
	}
	v.log = &l
	if t, ok := l.value(hdrTable); ok {
		tw = t
	}
	return v, tw, moveStart, moveEnd, true
}

// lookup appends the value of key to dst.
func (db *DB) lookup(dst, key []byte, info *readInfo) ([]byte, error) {
	h := hashKey(db.seed, key)
	f := db.f
	start := len(dst)
	badLogs := 0
	for attempt := 0; attempt < maxAttempts; attempt++ {
		v, tw, ms, me, ok := db.readView()
		if !ok {
			// A window's log must be readable while its window is open; if
			// it stays open and unreadable, the file is damaged.
			if m := f.m.Load(); m.load(hdrWindowStart) == ms && m.load(hdrWindowEnd) == me {
				if badLogs++; badLogs >= 3 {
					return dst[:start], fmt.Errorf("kv: %s: the log of write %d, whose slot moves are being applied, does not check out: %w", f.path, ms, ErrCorrupt)
				}
			}
			continue
		}
		toff, log2 := tableParts(tw)
		if !tableInFile(f, toff, log2) {
			return dst[:start], fmt.Errorf("kv: %s: slot table %d (2^%d slots) outside the file: %w", f.path, toff, log2, ErrCorrupt)
		}
		v.m = f.m.Load() // tableInFile may have remapped to reach the table
		out, st, at := db.probeKey(v, tw, h, key, dst, start, info)
		if st == readRetry {
			continue
		}
		// A window that opened or closed during the probe may have moved the
		// key past it; the next attempt probes the state the window leaves.
		m := v.m
		if m.load(hdrWindowStart) != ms || m.load(hdrWindowEnd) != me || v.log == nil && m.load(hdrTable) != tw {
			continue
		}
		switch st {
		case readHit:
			if db.evict && !db.readOnly {
				if used, changed := useOnRead(at.slot); changed {
					atomic.CompareAndSwapUint64(m.word(at.pos), at.slot, used)
				}
			}
			return out, nil
		case readBad:
			return dst[:start], fmt.Errorf("kv: %s: page %d offset %d: damaged record: %w",
				f.path, slotOff(at.slot)/PageSize, slotOff(at.slot)%PageSize, ErrCorrupt)
		default:
			return dst[:start], ErrNotFound
		}
	}
	return dst[:start], fmt.Errorf("kv: %s: %d reads of the key were each overtaken by a write: %w", f.path, maxAttempts, ErrBusy)
}

// testReaderPause, set only by tests, is called by a reader between its
// steps, so that a test can run writers while the reader is descheduled
// there: after it loaded a slot and the page generation, and after it copied
// the record (before it re-validates the copy).
var testReaderPause func(step int, key []byte)

const (
	readerLoadedSlot = iota
	readerCopied
)

// slotAt is where a probe ended.
type slotAt struct {
	pos, slot uint64
}

// probeKey looks key up in the table tw of view v. Each record whose tag
// matches is copied and then validated: the slot, the page generation and
// the table word unchanged since before the copy (readRetry otherwise).
func (db *DB) probeKey(v slotView, tw, h uint64, key, dst []byte, start int, info *readInfo) ([]byte, int, slotAt) {
	toff, log2 := tableParts(tw)
	tag := h >> tagShift
	mask := uint64(1)<<log2 - 1
	m := v.m
	i := h >> (64 - log2)
	for d := uint64(0); d <= mask; d++ {
		pos := toff + 8*i
		s := v.load(pos)
		if s == 0 {
			return dst[:start], readMiss, slotAt{pos, 0}
		}
		if slotTag(s) == tag {
			off := slotOff(s)
			page := off &^ (PageSize - 1)
			if off < PageSize || !db.f.ensure(int64(page+PageSize)) {
				// A slot pointing outside the file: damage, unless a writer
				// changed it meanwhile.
				if sameSlot(v.load(pos), s) && m.load(hdrTable) == tw {
					return dst[:start], readBad, slotAt{pos, s}
				}
				return dst[:start], readRetry, slotAt{pos, s}
			}
			pm := db.f.m.Load() // ensure may have remapped: the page is in this one
			gen := pm.load(page + pageGen)
			if testReaderPause != nil {
				testReaderPause(readerLoadedSlot, key)
			}
			var st int
			dst, st = db.readValue(off, key, dst[:start], info, v.log)
			if testReaderPause != nil {
				testReaderPause(readerCopied, key)
			}
			loadFence()
			if !sameSlot(v.load(pos), s) || pm.load(page+pageGen) != gen || v.log == nil && m.load(hdrTable) != tw {
				return dst[:start], readRetry, slotAt{pos, s}
			}
			if st != readMiss {
				return dst, st, slotAt{pos, s}
			}
		}
		i = (i + 1) & mask
	}
	return dst[:start], readMiss, slotAt{}
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
// dst and checks the checksum over exactly the bytes returned. lg is the open
// window's log, through which the record's page words are read (pageWord).
func (db *DB) readValue(off uint64, key, dst []byte, info *readInfo, lg *logRecord) ([]byte, int) {
	if off < PageSize || off%8 != 0 {
		return dst, readBad
	}
	var hb [recHeader + 8]byte
	in := off % PageSize
	raw, ok := db.f.span(off, int(min(PageSize-in, 2*cacheLine)))
	if !ok || len(raw) < recHeader {
		return dst, readBad
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
		return dst, readBad
	}
	if r.klen != len(key) {
		return dst, db.missOrBad(off, lg)
	}
	size := r.size()
	start := len(dst)
	if size <= maxSlabRecord {
		rec, ok := db.slabRecord(off, size, lg)
		if !ok {
			return dst, readBad
		}
		if !bytes.Equal(rec[r.hdr:r.hdr+r.klen], key) {
			return dst, db.missOrBad(off, lg) // before copying: a miss allocates nothing
		}
		// Copy the record once, check the copy (header as parsed, key, sum),
		// then slide the value down over the header and key.
		dst = append(dst, rec[4:]...)
		body := dst[start:]
		k := r.hdr - 4
		if !bytes.Equal(body[:k], hb[4:r.hdr]) {
			return dst[:start], readBad // the header changed while we copied
		}
		if !bytes.Equal(body[k:k+r.klen], key) {
			return dst[:start], db.missOrBad(off, lg)
		}
		if uint32(xxhash.Sum64(body)) != r.sum {
			return dst[:start], readBad
		}
		n := copy(body, body[k+r.klen:])
		dst = dst[:start+n]
		return db.expiryCheck(r, dst, start, off, info)
	} else {
		if off%PageSize != chainHeader {
			return dst, readBad
		}
		pos, match := 0, true
		ok := db.walkChain(off, size, lg, func(b []byte) bool {
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
			return dst[:start], db.missOrBad(off, lg)
		}
		if !ok {
			return dst[:start], readBad
		}
	}
	var d xxhash.Digest
	d.Reset()
	d.Write(hb[4:r.hdr])
	d.Write(key)
	d.Write(dst[start:])
	if uint32(d.Sum64()) != r.sum {
		return dst[:start], readBad
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
		return dst[:start], readHidden
	}
	return dst, readHit
}

// missOrBad tells a record of another key (its tag collided with ours) from
// damage that made our own record look like another key's: only a record
// that checks out whole is another key. Tag collisions are rare, so this
// costs little.
func (db *DB) missOrBad(off uint64, lg *logRecord) int {
	raw, ok := db.f.span(off, recHeader+8)
	if !ok {
		return readBad
	}
	r, ok := parseRecordHeader(raw)
	if !ok {
		return readBad
	}
	if size := r.size(); size <= maxSlabRecord {
		rec, ok := db.slabRecord(off, size, lg)
		if !ok || !recordSumOK(rec, r) {
			return readBad
		}
		return readMiss
	}
	if _, _, st := db.readRecord(off, nil, lg); st != readHit {
		return readBad
	}
	return readMiss
}

// walkChain calls fn with successive pieces of the first n bytes of the chained
// record at off, following page links read through pageWord. It reports false
// if a link or page is not what a chain must be (a writer may have freed it).
func (db *DB) walkChain(off uint64, n int, lg *logRecord, fn func([]byte) bool) bool {
	p := off - chainHeader
	for i, pages := 0, chainPages(n); i < pages; i++ {
		if p < PageSize || p%PageSize != 0 {
			return false
		}
		page, ok := db.f.span(p, PageSize)
		if !ok {
			return false
		}
		if w0 := db.pageWord(lg, p); w0&0xff != kindChain || (w0&chainHead != 0) != (i == 0) {
			return false
		}
		take := min(chainSpace, n-i*chainSpace)
		if !fn(page[chainHeader : chainHeader+take]) {
			return false
		}
		p = db.pageWord(lg, p+chainNext)
	}
	return true
}

// slabRecord returns the size bytes of the small record at off, if they lie
// in one object of a slab page whose size class fits them.
func (db *DB) slabRecord(off uint64, size int, lg *logRecord) ([]byte, bool) {
	page := off &^ (PageSize - 1)
	in := int(off - page)
	if in < slabHeader || in+size > PageSize {
		return nil, false
	}
	rec, ok := db.f.span(off, size)
	if !ok {
		return nil, false
	}
	w0 := db.pageWord(lg, page)
	cl := int(w0 >> 8 & 0xff)
	if w0&0xff != kindSlab || cl != classFor(size) || (in-slabHeader)%sizeClasses[cl] != 0 {
		return nil, false
	}
	return rec, true
}

// pageWord loads the word at off of a record's page (in the file: its caller
// read the page) as the reader's view has it. A writer sets page words (a
// slab's kind and class, a chain's kinds and links) through its log, so inside
// a window they may not be applied yet; lg, the window's log, has them.
func (db *DB) pageWord(lg *logRecord, off uint64) uint64 {
	if lg != nil {
		if v, ok := lg.value(off); ok {
			return v
		}
	}
	return db.f.m.Load().load(off)
}

// recordSumOK checks a whole record's checksum.
func recordSumOK(rec []byte, r recordMeta) bool {
	return len(rec) >= r.size() && uint32(xxhash.Sum64(rec[4:r.size()])) == r.sum
}
