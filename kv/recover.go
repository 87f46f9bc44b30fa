//go:build unix

package kv

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// Recovery: finishing the commit of a writer that died, or that a power loss
// cut short (docs/concurrency.md, "Process death" and "Power loss"). It runs
// under the writer lock before every write, and once at Open when the file
// looks unfinished. The common case costs two loads.
//
// hdrApplied names the last log whose every word was applied; its last entry
// sets it. The log of the next transaction, if its region holds one that
// checks out, was complete when its writer stopped, so it is applied again
// (each entry holds a final value, so applying a prefix twice is harmless).
// After a power loss the header on disk may lag by two transactions (the
// flush of n+1 is what makes the in-place words of n durable), so up to two
// logs are applied in order; the alternating regions keep both.

// recoverPending applies the logs left unapplied and reports how many. A
// replay is flushed to disk before the caller writes anything, since the next
// log will overwrite the older of the two regions.
func (db *DB) recoverPending() (int, error) {
	replayed := 0
	for replayed < 2 {
		l, ok := db.nextLog(true)
		if !ok {
			break
		}
		if err := db.replay(l); err != nil {
			return replayed, err
		}
		replayed++
	}
	if replayed > 0 {
		db.repairs.Add(int64(replayed))
		if err := db.f.sync(); err != nil {
			return replayed, fmt.Errorf("kv: sync %s after finishing an interrupted write: %w", db.f.path, err)
		}
	}
	return replayed, nil
}

// nextLog returns the log after hdrApplied if it is there and whole. With
// durable, the bytes it refers to must hold what it says (a power loss can
// keep a log and lose the records it points at); a handle that only checks
// for a killed writer's log (Stats, a read-only Check) skips that.
func (db *DB) nextLog(durable bool) (logRecord, bool) {
	m := db.f.m.Load()
	seq := m.load(hdrApplied) + 1
	base := regionOff(seq, db.logPages)
	if m.load(base) != logMagic || m.load(base+logSeqOff) != seq {
		return logRecord{}, false
	}
	length, err := db.f.fileSize()
	if err != nil {
		return logRecord{}, false
	}
	span := db.f.spanTo(uint64(length))
	l, ok := readLog(span, seq, db.logPages, uint64(length))
	if !ok {
		return logRecord{}, false
	}
	if durable && !extentsHold(l, span) {
		return logRecord{}, false
	}
	return l, true
}

// replay applies l, first growing the file if the log grew it and a power
// loss kept the log but not the new length.
func (db *DB) replay(l logRecord) error {
	if size, ok := l.value(hdrFileSize); ok {
		if size > maxFileSize || size%PageSize != 0 || db.maxSize > 0 && size > db.maxSize {
			return fmt.Errorf("kv: %s: the log of write %d sets an impossible file size %d: %w", db.f.path, l.seq, size, ErrCorrupt)
		}
		if err := db.f.growTo(int64(size)); err != nil {
			return fmt.Errorf("kv: %s: finishing an interrupted write: %w", db.f.path, err)
		}
	}
	m := db.f.m.Load()
	if length, err := db.f.fileSize(); err != nil || !db.f.mapped(uint64(length)) {
		return fmt.Errorf("kv: %s: finishing an interrupted write: the file cannot be mapped: %w", db.f.path, ErrCorrupt)
	}
	applyLog(m, l)
	return nil
}

// extentsHold reports whether every extent of l holds the bytes its hash
// says. Chained records are read through their links as the log leaves them.
func extentsHold(l logRecord, span func(off uint64, n int) ([]byte, bool)) bool {
	var links map[uint64]uint64
	link := func(p uint64) (uint64, bool) {
		if links == nil {
			links = make(map[uint64]uint64, l.entryCount())
			for i := 0; i < l.entryCount(); i++ {
				off, v := l.entry(i)
				links[off] = v
			}
		}
		if v, ok := links[p+chainNext]; ok {
			return v, true
		}
		b, ok := span(p+chainNext, 8)
		if !ok {
			return 0, false
		}
		return le.Uint64(b), true
	}
	for i := 0; i+extentSize <= len(l.extents); i += extentSize {
		off, size, hash := le.Uint64(l.extents[i:]), le.Uint64(l.extents[i+8:]), le.Uint64(l.extents[i+16:])
		if size&extentRaw != 0 {
			n := size &^ extentRaw
			if n > maxFileSize {
				return false
			}
			b, ok := span(off, int(n))
			if !ok || xxhash.Sum64(b) != hash {
				return false
			}
			continue
		}
		if size < recHeader || size > recHeader+8+MaxKeySize+MaxValueSize {
			return false
		}
		if !recordHolds(off, int(size), hash, span, link) {
			return false
		}
	}
	return true
}

// recordHolds checks that the record of size bytes at off hashes to hash.
func recordHolds(off uint64, size int, hash uint64, span func(uint64, int) ([]byte, bool), link func(uint64) (uint64, bool)) bool {
	if size <= maxSlabRecord {
		b, ok := span(off, size)
		return ok && le.Uint32(b) == uint32(hash) && xxhash.Sum64(b[4:]) == hash
	}
	if off%PageSize != chainHeader {
		return false
	}
	var d xxhash.Digest
	d.Reset()
	p, done := off-chainHeader, 0
	for i := 0; i < chainPages(size); i++ {
		take := min(chainSpace, size-done)
		b, ok := span(p+chainHeader, take)
		if !ok {
			return false
		}
		if i == 0 {
			if le.Uint32(b) != uint32(hash) {
				return false
			}
			b = b[4:]
		}
		d.Write(b)
		done += take
		if p, ok = link(p); !ok && done < size {
			return false
		}
	}
	return d.Sum64() == hash
}

// pendingRepair reports, without writing, whether the file holds a killed
// writer's complete log that the next writer will apply.
func (db *DB) pendingRepair() bool {
	_, ok := db.nextLog(false)
	return ok
}
