//go:build unix

package kv

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Eviction (Options.Evict). A file in cache mode never grows past MaxSize;
// when a write finds no room, entries not used recently make way for it. The
// policy is CLOCK over the slot table with two use bits per slot: a write sets
// the written bit, a read sets the read bit when it is clear (readers do so
// without a lock, with one compare-and-swap, and only on a handle that may
// write), and a hand sweeping the table clears one set bit per visit (the read
// bit first) and evicts entries with neither.

// evictRounds bounds how often one write evicts and retries before it gives up
// with ErrFull (a file whose space is all pinned by one huge value, say).
const evictRounds = 64

// writeEvicting runs op, and in cache mode makes room and retries when op
// finds the file full. op must be safe to run again: it recomputes everything
// it returns.
func (db *DB) writeEvicting(what string, op func(t *txn) error) error {
	for round := 0; ; round++ {
		err := db.writeOne(what, op)
		if !db.evict || !errors.Is(err, ErrFull) || round == evictRounds {
			return err
		}
		// Evicting single records frees room in their size classes; a write
		// that needs whole pages (a large value, a new slab) may need whole
		// pages emptied, so later rounds evict page by page.
		n, eerr := db.evictSome(round >= 2)
		if eerr != nil {
			return eerr
		}
		if n == 0 {
			return err
		}
	}
}

// evictSome evicts one batch: enough records to free about 1/64 of MaxSize,
// no more than the log can record in one transaction.
func (db *DB) evictSome(pages bool) (int, error) {
	n := 0
	err := db.write("evict", func(t *txn) error {
		logEntries := (db.logPages*PageSize - logPayload) / entrySize
		n = t.evict(max(db.maxSize/64, 4*PageSize), int(logEntries/10), pages)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("kv: evicting to make room: %w", err)
	}
	return n, nil
}

// evict sweeps the clock hand until it has evicted records holding want
// bytes or most entries, and returns how many it evicted.
func (t *txn) evict(want uint64, most int, pages bool) int {
	off, log2 := t.table()
	slots := uint64(1) << log2
	hand := t.word(hdrClockHand) % slots
	m := t.m()
	now := nowMillis()
	var freed uint64
	n, expired := 0, 0
	for i := uint64(0); i < 2*slots && freed < want && n < most; i++ {
		pos := off + 8*hand
		s := t.word(pos)
		if s == 0 {
			hand = (hand + 1) % slots
			continue
		}
		r := t.recordMeta(slotOff(s))
		gone := r.flags&recExpires != 0 && r.expiry <= now
		if use := s & useBits; use != 0 && !gone {
			// A second chance: a read bit is cleared first, then a written
			// bit, so an entry that was read outlives one that was only
			// written by a lap of the hand. The bits are advisory: clearing
			// needs no log, and a reader setting one meanwhile wins.
			clear := uint64(refBit)
			if use&refBit == 0 {
				clear = wroteBit
			}
			atomic.CompareAndSwapUint64(m.word(pos), s, s&^clear)
			hand = (hand + 1) % slots
			continue
		}
		if pages && r.size() <= maxSlabRecord {
			k := t.evictPage(slotOff(s) &^ (PageSize - 1))
			n += k
			freed += PageSize
			if k > 0 {
				continue // pos may hold another entry now
			}
		}
		freed += allocatedSize(r.size())
		t.release(slotOff(s))
		t.clearSlot(pos) // may shift the next entry into pos: the hand stays
		n++
		if gone {
			expired++
		}
	}
	t.setWord(hdrClockHand, hand)
	t.addWord(hdrEvictions, int64(n-expired))
	t.addWord(hdrExpired, int64(expired))
	return n
}

// allocatedSize is the space a record of size bytes occupies.
func allocatedSize(size int) uint64 {
	if size > maxSlabRecord {
		return uint64(chainPages(size)) * PageSize
	}
	return uint64(sizeClasses[classFor(size)])
}

// evictPage evicts every live record of the slab page p, which frees the page.
func (t *txn) evictPage(p uint64) int {
	t.checkPage(p, kindSlab)
	c := int(t.word(p) >> 8 & 0xff)
	if c >= len(sizeClasses) {
		corruptf("page %d: class %d", p/PageSize, c)
	}
	n := 0
	for idx := 0; idx < objectsPerPage(c); idx++ {
		if t.word(p+slabBitmap+uint64(8*(idx/64)))&(1<<(idx%64)) == 0 {
			continue
		}
		off := p + slabHeader + uint64(idx*sizeClasses[c])
		r := t.recordMeta(off)
		key := t.bytes(off+uint64(r.hdr), r.klen)
		pr := t.find(key, hashKey(t.db.seed, key))
		if !pr.found || slotOff(pr.slot) != off {
			continue // already released by this transaction
		}
		t.release(off)
		t.clearSlot(pr.pos)
		n++
	}
	return n
}
