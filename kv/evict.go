//go:build unix

package kv

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Eviction (Options.Evict, docs/cache.md). A file in cache mode never grows
// past MaxSize; when a write finds no room, entries not used recently make
// way for it, each eviction one transaction of its own.
//
// The hand (hdrClockHand) sweeps record memory in address order, page by
// page and object by object, not the slot table: slots are ordered by hash,
// so a sweep over them would leave the table nearly empty behind the hand
// and nearly full ahead of it, and linear probing degrades in the full part.
// Record memory is independent of the hash, so evictions spread evenly over
// the table; and sweeping pages is what frees whole pages when the sizes of
// the values change (memcached's slab calcification). Each record's use is
// counted in its slot's use bits (index.go): the policy of useOnWrite,
// useOnRead and ageOnVisit decides.
//
// An eviction transaction is budgeted in log entries, each deletion's cost
// known before it is made (shiftCost plus the allocator's words), so that its
// log always fits its region: at the bound there are no pages to spare for a
// larger one.

// evictRounds bounds how often one write evicts and retries before it gives
// up with ErrFull (a file whose space is all taken by one Update, say). Each
// round is one transaction within one log region, about a hundred evictions:
// freeing whole pages of tiny records for a large value may take hundreds.
const evictRounds = 4096

// errNoRoom is a write that needs eviction first: no space, or no slot (the
// table of a cache never grows, so its key count is bounded).
var errNoRoom = fmt.Errorf("no room: %w", ErrFull)

// noRoom is a transaction's ErrFull with what it was short of: the most
// pages one of its allocations needed.
type noRoom struct {
	pages int
	err   error
}

func (e *noRoom) Error() string { return e.err.Error() }
func (e *noRoom) Unwrap() error { return e.err }

// roomFor adds the transaction's need to an ErrFull, for eviction to meet.
func (t *txn) roomFor(err error) error {
	if t.needPages > 0 && errors.Is(err, ErrFull) {
		var nr *noRoom
		if !errors.As(err, &nr) {
			return &noRoom{pages: t.needPages, err: err}
		}
	}
	return err
}

// writeEvicting runs op, and in cache mode makes room and retries when op
// finds the file full. op must be safe to run again: it recomputes everything
// it returns.
func writeEvicting[O txnOp](db *DB, what string, op O) error {
	for round := 0; ; round++ {
		err := writeOne(db, what, op)
		if !db.evict || !errors.Is(err, ErrFull) || round == evictRounds {
			return err
		}
		n, eerr := db.evictSome(round, err)
		if eerr != nil {
			return eerr
		}
		if n == 0 && round >= forceRound {
			return err // nothing left that could go
		}
	}
}

// Eviction rounds for one write: the first evict by the policy; a write still
// short of room after them needs whole pages (a large value, a new slab of
// another size), so the hand then empties the pages it visits, at first
// sparing entries in use (their use is aged), from forceRound on sparing none.
const (
	policyRounds = 8
	forceRound   = 16
)

// evictSome runs one eviction transaction for a write that failed with full.
func (db *DB) evictSome(round int, full error) (int, error) {
	need := uint64(1)
	var nr *noRoom
	if errors.As(full, &nr) {
		need = uint64(nr.pages)
	}
	n := 0
	err := db.write("evict", func(t *txn) error {
		goal := evictGoal{free: max(db.maxSize/64, need*PageSize), log: t.evictBudget()}
		if round >= policyRounds {
			// Whole pages: what the write needs, and more each round that
			// did not suffice (a write's need grows with what it takes).
			goal.pages, goal.force = true, round >= forceRound
			goal.free = min((need+4)*PageSize<<min(round-policyRounds, 10), max(need*PageSize, db.maxSize/8))
		}
		n = t.evict(goal)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("kv: evicting to make room: %w", err)
	}
	return n, nil
}

// evictGoal is what one eviction transaction aims for.
type evictGoal struct {
	free  uint64 // bytes to free (with pages: free pages, or fresh space under MaxSize, to reach)
	pages bool   // free whole pages: only the hand, which empties the pages it visits
	force bool   // with pages: evict records in use too
	log   int    // log entries the transaction may add
}

// evictBudget is how many log entries an eviction may add: its region, less
// the entries every log carries and a margin for the transaction's own
// counters.
func (t *txn) evictBudget() int {
	return int((t.db.logPages*PageSize-logPayload)/entrySize) - 4 - 16
}

// Allocator words a record's release may change besides its slots: the
// bitmap word and word 0 of its slab, the class list (two neighbours and the
// head), the free list (page, head, count) and the live-byte and key counters.
const releaseCost = 12

// logUse bounds the log entries the transaction has so far: its overlay,
// and the releases still to be made at commit.
func (t *txn) logUse() int { return t.ov.distinct + releaseCost*len(t.frees) }

// freeRoom is the space a write can take without eviction: free pages and
// the fresh space under MaxSize.
func (t *txn) freeRoom() uint64 {
	bound := t.maxSize
	hw := t.word(hdrHighWater)
	return t.word(hdrFreePages)*PageSize + bound - min(bound, hw)
}

// sweep is what one eviction transaction did.
type sweep struct {
	evicted, expired int
	freed            uint64 // bytes of record space released
}

// evict takes entries by the policy (policy.go: the small FIFO while it is
// over its share, else the main hand) until goal is met, the log budget is
// spent or the hand has gone twice round, and returns how many it evicted.
func (t *txn) evict(goal evictGoal) int {
	h := t.newHand()
	now := nowMillis()
	var sw sweep
	// At the table's load bound, drop a few per cent of its slots' worth of
	// keys, so that the next inserts find room.
	_, log2 := t.table()
	keysBefore, keyGoal := t.word(hdrKeys), uint64(0)
	if limit := uint64(maxLoadNum) << log2 / maxLoadDen; keysBefore+1 > limit {
		keyGoal = keysBefore + 1 - limit + uint64(1)<<log2/64
	}
	done := func() bool {
		switch {
		case keysBefore-t.word(hdrKeys) < keyGoal:
			return false
		case goal.pages:
			return t.freeRoom() >= goal.free
		default:
			return sw.freed >= goal.free
		}
	}
	for !done() {
		if !goal.pages && t.smallTurn() {
			if !t.popSmall(now, &sw) {
				break
			}
			continue
		}
		off, ok := h.next()
		if !ok || !t.visitRecord(off, goal, now, &sw) {
			break
		}
		h.passed(off)
	}
	t.setWord(hdrClockHand, h.at)
	t.addWord(hdrEvictions, int64(sw.evicted-sw.expired))
	t.addWord(hdrExpired, int64(sw.expired))
	return sw.evicted
}

// hand walks record memory in address order: the objects of slab pages in
// index order and the first page of each chain, stepping over the slot table
// and the cache's ring and ghost, wrapping at the high-water mark.
type hand struct {
	t                *txn
	at               uint64 // the next offset to look at
	first, hw        uint64
	skipLo, skipHi   uint64
	visited, maxWalk uint64
}

func (t *txn) newHand() *hand {
	h := &hand{t: t, first: logRegionsEnd(t.db.logPages), hw: t.word(hdrHighWater)}
	toff, log2 := t.table()
	h.skipLo, h.skipHi = toff, toff+uint64(roundUp(8<<log2, PageSize))
	if g := t.word(hdrGhostOff); t.word(hdrRingOff) == h.skipHi && g == h.skipHi+uint64(roundUp(int64(8*t.word(hdrRingCap)), PageSize)) {
		// The small FIFO's ring and the ghost follow the table.
		h.skipHi = g + uint64(roundUp(int64(t.word(hdrGhostBuckets)*ghostWays*4), PageSize))
	}
	h.maxWalk = 2 * (h.hw - h.first)
	if h.at = t.word(hdrClockHand); h.at < h.first || h.at >= h.hw {
		h.at = h.first
	}
	return h
}

// next returns the next record at or after the hand, false after two laps.
func (h *hand) next() (uint64, bool) {
	t := h.t
	for h.visited < h.maxWalk {
		page := h.at &^ (PageSize - 1)
		switch w0 := t.word(page); {
		case page >= h.skipLo && page < h.skipHi:
			h.move(h.skipHi)
			continue
		case w0&0xff == kindSlab:
			c := int(w0 >> 8 & 0xff)
			if c >= len(sizeClasses) {
				corruptf("page %d: class %d", page/PageSize, c)
			}
			size := uint64(sizeClasses[c])
			idx := 0
			if in := h.at - page; in > slabHeader {
				idx = int((in - slabHeader + size - 1) / size)
			}
			for ; idx < objectsPerPage(c); idx++ {
				if t.word(page+slabBitmap+uint64(8*(idx/64)))&(1<<(idx%64)) != 0 {
					off := page + slabHeader + uint64(idx)*size
					h.move(off)
					return off, true
				}
			}
		case w0&0xff == kindChain && w0&chainHead != 0 && h.at <= page+chainHeader:
			h.move(page + chainHeader)
			return page + chainHeader, true
		}
		h.move(page + PageSize)
	}
	return 0, false
}

// passed moves the hand past the record at off.
func (h *hand) passed(off uint64) { h.move(off + 1) }

func (h *hand) move(to uint64) {
	if to > h.at {
		h.visited += to - h.at
	}
	h.at = to
	if h.at >= h.hw {
		h.at = h.first
	}
}

// visitRecord looks at the record at off as the hand passes it: an expired
// record, or one the policy finds cold (any, in a sweep for whole pages), is
// evicted; otherwise its use is aged. It returns false, doing nothing, when
// evicting it could overrun the log budget.
func (t *txn) visitRecord(off uint64, goal evictGoal, now int64, sw *sweep) bool {
	if t.logUse()+releaseCost+4 > goal.log {
		return false
	}
	r := t.recordMeta(off)
	var key []byte
	if r.size() <= maxSlabRecord {
		key = t.bytes(off+uint64(r.hdr), r.klen)
	} else {
		key = t.chainPrefix(off, r.hdr+r.klen)[r.hdr:]
	}
	p := t.find(key, hashKey(t.db.seed, key))
	if !p.found || slotOff(p.slot) != off {
		return true // released by this transaction already
	}
	gone := r.flags&recExpires != 0 && r.expiry <= now
	if !gone && !goal.force && p.slot&smallBit != 0 {
		return true // the small FIFO's: it leaves by the ring, in order
	}
	if !gone && !goal.force {
		if aged, keep := ageOnVisit(p.slot); keep {
			if _, moved := t.ov.get(p.pos); moved {
				// This transaction shifted the entry here: its slot reaches
				// the file through the log, with its use as aged.
				t.setWord(p.pos, aged)
			} else {
				// Use bits are advisory and change outside the log: a reader
				// raising them meanwhile wins, and a lost update costs nothing.
				atomic.CompareAndSwapUint64(t.m().word(p.pos), p.slot, aged)
			}
			return true
		}
	}
	if t.logUse()+t.shiftCost(p.pos)+releaseCost > goal.log {
		return false
	}
	t.release(off)
	t.clearSlot(p.pos)
	sw.evicted++
	sw.freed += allocatedSize(r.size())
	if gone {
		sw.expired++
	}
	return true
}

// allocatedSize is the space a record of size bytes occupies.
func allocatedSize(size int) uint64 {
	if size > maxSlabRecord {
		return uint64(chainPages(size)) * PageSize
	}
	return uint64(sizeClasses[classFor(size)])
}
