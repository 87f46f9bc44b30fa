//go:build unix

package kv

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"time"
)

// ForEach calls fn for every live key and its value, in no particular order,
// until fn returns an error, which ForEach then returns. It is a live view,
// not a snapshot, and takes no lock: writers go on meanwhile. Every key that
// is present and unchanged for the whole iteration is visited exactly once;
// a key written during it may or may not be visited; no pair is ever torn.
// fn may read and write the DB. The slices passed to fn are valid only
// during the call. All is the same iteration for a range loop.
//
// Besides fn's error, ForEach returns ErrClosed on a closed DB, ErrBusy when
// writers kept moving the slot table under it (retrying later succeeds), and
// ErrCorrupt at a damaged record or slot table (Salvage goes on past damaged
// records).
func (db *DB) ForEach(fn func(key, value []byte) error) error {
	return db.forEachRecord(func(key, value []byte, _ int64) error { return fn(key, value) })
}

// forEachRecord is ForEach that also passes each record's expiry (unix
// milliseconds, 0 for none).
func (db *DB) forEachRecord(fn func(key, value []byte, expiry int64) error) error {
	var ferr error
	_, err := db.walk(nil, false, func(key, value []byte, expiry int64) bool {
		ferr = fn(key, value, expiry)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// walk calls yield for every live record whose key starts with prefix, until
// yield returns false. With salvage it skips damaged records instead of
// stopping at the first, and returns how many distinct ones it skipped.
func (db *DB) walk(prefix []byte, salvage bool, yield func(key, value []byte, expiry int64) bool) (skipped int, err error) {
	it := iterator{db: db, prefix: prefix, salvage: salvage}
	for {
		ok, err := it.next()
		if err != nil || !ok {
			return len(it.bad), err
		}
		if !yield(it.key, it.val, it.expiry) {
			return len(it.bad), nil
		}
	}
}

// iterator walks the slot table. If a rehash moves the table mid-walk, it
// starts over on the new table and skips the keys it already returned, which
// it recognises by their 64-bit hashes.
type iterator struct {
	db      *DB
	tw      uint64 // table being walked; 0 before the first call
	pos     uint64 // next slot index
	seen    []uint64
	skip    map[uint64]struct{} // hashes to skip after a restart or rewind
	slots   map[uint64]struct{} // slot words returned since the first rewind
	moves   [2]uint64           // hdrWindowStart and hdrWindowEnd when last checked
	buf     []byte
	key     []byte
	val     []byte
	expiry  int64
	started bool
	prefix  []byte              // only keys that start with it are returned
	salvage bool                // skip damaged records instead of failing
	bad     map[uint64]struct{} // slot words of the damaged records skipped
}

func (it *iterator) next() (ok bool, err error) {
	db := it.db
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed.Load() {
		return false, ErrClosed
	}
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	f := db.f
	now := time.Now().UnixMilli()
	badLogs := 0
	for attempt := 0; attempt < maxAttempts; attempt++ {
		v, tw, ms, me, ok := db.readView()
		if !ok {
			if m := f.m.Load(); m.load(hdrWindowStart) == ms && m.load(hdrWindowEnd) == me {
				if badLogs++; badLogs >= 3 {
					return false, fmt.Errorf("kv: %s: the log of write %d, whose slot moves are being applied, does not check out: %w", f.path, ms, ErrCorrupt)
				}
			}
			continue
		}
		moves := [2]uint64{ms, me}
		if !it.started {
			it.tw, it.started, it.moves = tw, true, moves
		}
		if moves != it.moves && tw == it.tw {
			// A deletion shifted entries back, perhaps past this walk: go back
			// far enough to meet them and skip what was returned.
			it.moves = moves
			it.rewind(v)
		}
		if tw != it.tw { // the table moved: start over, skipping what was returned
			it.tw, it.pos, it.moves = tw, 0, moves
			it.skipReturned()
		}
		toff, log2 := tableParts(tw)
		if !tableInFile(f, toff, log2) {
			return false, fmt.Errorf("kv: %s: slot table outside the file: %w", f.path, ErrCorrupt)
		}
		v.m = f.m.Load() // tableInFile may have remapped to reach the table
		m := v.m
		for ; it.pos < 1<<log2; it.pos++ {
			pos := toff + 8*it.pos
			s := v.load(pos)
			if s == 0 {
				continue
			}
			if _, dup := it.slots[s&^useBits]; dup {
				continue // returned before a shift moved it: known without reading it
			}
			off := slotOff(s)
			page := off &^ (PageSize - 1)
			if _, bad := it.bad[s&^useBits]; bad {
				continue // damaged, skipped and counted already
			}
			if off < PageSize || !f.ensure(int64(page+PageSize)) {
				if sameSlot(v.load(pos), s) && m.load(hdrTable) == tw {
					if it.skipBad(s) {
						continue
					}
					return false, fmt.Errorf("kv: %s: slot at page %d offset %d points outside the file: %w",
						f.path, pos/PageSize, pos%PageSize, ErrCorrupt)
				}
				break // changed under us: look again
			}
			pm := f.m.Load()
			gen := pm.load(page + pageGen)
			rec, r, st := db.readRecord(off, it.buf[:0], v.log)
			it.buf = rec[:0]
			loadFence()
			if !sameSlot(v.load(pos), s) || pm.load(page+pageGen) != gen || v.log == nil && m.load(hdrTable) != tw {
				break // changed under us: look again
			}
			if st == readBad {
				if m.load(hdrWindowStart) != ms || m.load(hdrWindowEnd) != me {
					break // a window opened or closed: the bytes may be the next log's
				}
				if it.skipBad(s) {
					continue
				}
				return false, fmt.Errorf("kv: %s: page %d offset %d: damaged record: %w",
					f.path, off/PageSize, off%PageSize, ErrCorrupt)
			}
			if r.flags&recExpires != 0 && r.expiry <= now || r.flags&recPending != 0 {
				continue
			}
			key := rec[r.hdr : r.hdr+r.klen]
			if !bytes.HasPrefix(key, it.prefix) {
				continue // never returned, so never one to skip either
			}
			h := hashKey(db.seed, key)
			if _, dup := it.skip[h]; dup {
				continue
			}
			it.seen = append(it.seen, h)
			if it.skip != nil {
				it.skip[h] = struct{}{}
				it.slots[s&^useBits] = struct{}{}
			}
			it.key, it.val, it.expiry = key, rec[r.hdr+r.klen:r.size()], r.expiry
			it.pos++
			return true, nil
		}
		if it.pos >= 1<<log2 {
			// The walk ends only if neither the table nor the move words
			// changed since the last look; otherwise the next attempt rewinds.
			if m.load(hdrWindowStart) == ms && m.load(hdrWindowEnd) == me && (v.log != nil || m.load(hdrTable) == tw) && moves == it.moves {
				return false, nil
			}
		}
	}
	return false, fmt.Errorf("kv: %s: the table kept changing under the iteration: %w", f.path, ErrBusy)
}

// skipBad records the damaged record of slot word s as skipped, if the
// iteration salvages, and reports whether it does. A record is counted once
// however often a rewind meets it again.
func (it *iterator) skipBad(s uint64) bool {
	if !it.salvage {
		return false
	}
	if it.bad == nil {
		it.bad = make(map[uint64]struct{})
	}
	it.bad[s&^useBits] = struct{}{}
	return true
}

// rewind moves the walk back far enough to meet any entry a deletion shifted
// back past it, and makes sure every key returned so far is skipped. An entry
// never sits further than the longest probe distance (hdrMaxProbe, an upper
// bound: shifts only shorten distances) from its home, and a shift never moves
// it before its home, so an entry that was at or after pos is now no further
// back than pos minus that distance.
func (it *iterator) rewind(v slotView) {
	it.skipReturned()
	back := v.load(hdrMaxProbe) + 1
	if it.pos > back {
		it.pos -= back
	} else {
		it.pos = 0
	}
}

// skipReturned makes every key returned so far, and every key returned from
// now on, one to skip. Until the first restart or rewind nothing can be met
// twice, so the sets are built only then.
func (it *iterator) skipReturned() {
	if it.skip != nil {
		return
	}
	it.skip = make(map[uint64]struct{}, len(it.seen))
	for _, h := range it.seen {
		it.skip[h] = struct{}{}
	}
	it.slots = make(map[uint64]struct{})
}

// readRecord copies the whole record at off into buf and checks it; lg is the
// open window's log, or nil (pageWord).
func (db *DB) readRecord(off uint64, buf []byte, lg *logRecord) ([]byte, recordMeta, int) {
	if off < PageSize || off%8 != 0 {
		return buf, recordMeta{}, readBad
	}
	var hb [recHeader + 8]byte
	raw, ok := db.f.span(off, recHeader)
	if !ok {
		return buf, recordMeta{}, readBad
	}
	copy(hb[:], raw)
	if ext, ok := db.f.span(off+recHeader, 8); ok {
		copy(hb[recHeader:], ext)
	}
	r, ok := parseRecordHeader(hb[:])
	if !ok {
		return buf, r, readBad
	}
	size := r.size()
	if size <= maxSlabRecord {
		rec, ok := db.slabRecord(off, size, lg)
		if !ok {
			return buf, r, readBad
		}
		buf = append(buf, rec...)
	} else {
		if off%PageSize != chainHeader {
			return buf, r, readBad
		}
		if !db.walkChain(off, size, lg, func(b []byte) bool { buf = append(buf, b...); return true }) {
			return buf, r, readBad
		}
	}
	if !recordSumOK(buf, r) {
		return buf, r, readBad
	}
	return buf, r, readHit
}
