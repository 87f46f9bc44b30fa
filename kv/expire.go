//go:build unix

package kv

import (
	"fmt"
	"time"
)

// Expiry. A record may carry an expiry time (unix milliseconds). Readers in
// every process compare it with their own clock, so an entry disappears for
// everyone at the same wall-clock instant; its space is reclaimed later by
// writers (reclaimExpired) or by DeleteExpired.

// expiryFor converts a TTL to an absolute expiry; 0 means none.
func expiryFor(ttl time.Duration) (uint16, int64) {
	if ttl <= 0 {
		return 0, 0
	}
	now := time.Now()
	at := now.Add(ttl).UnixMilli()
	if at <= now.UnixMilli() { // a TTL under a millisecond still outlives this instant
		at = now.UnixMilli() + 1
	}
	return recExpires, at
}

// keyState is a key's live record as a writer sees it.
type keyState struct {
	p       probe
	meta    recordMeta
	value   []byte // valid until the transaction writes again
	exists  bool   // present and not expired
	pending bool   // a live GetOrCompute lease holds the key
}

// lookupLive finds key's record, treating an expired one as absent.
func (t *txn) lookupLive(key []byte) keyState {
	h := hashKey(t.db.seed, key)
	p := t.find(key, h)
	c := keyState{p: p}
	if !p.found {
		return c
	}
	off := slotOff(p.slot)
	c.meta = t.recordMeta(off)
	if c.meta.flags&recExpires != 0 && c.meta.expiry <= nowMillis() {
		return c
	}
	if c.meta.flags&recPending != 0 {
		c.pending = true
		return c
	}
	c.exists = true
	if c.meta.size() <= maxSlabRecord {
		c.value = t.bytes(off+uint64(c.meta.hdr+c.meta.klen), c.meta.vlen)
	} else {
		c.value = t.chainPrefix(off, c.meta.size())[c.meta.hdr+c.meta.klen:]
	}
	return c
}

// reclaimStep is how many slots a write examines for expired records when the
// file holds any: little enough to cost nothing noticeable, enough that an
// idle table is swept over many writes.
const reclaimStep = 8

// reclaimExpired deletes the expired records found among the next n slots
// after the shared cursor, at most most of them (0: no limit) and no more than
// the log budget allows, and moves the cursor past the slots it looked at.
// It returns how many records it deleted and how many slots it looked at.
func (t *txn) reclaimExpired(n uint64, now int64, most int) (deleted int, looked uint64) {
	t.swept = true
	off, log2 := t.table()
	slots := uint64(1) << log2
	at := t.word(hdrReclaimAt) % slots
	n = min(n, slots)
	i := uint64(0)
scan:
	for ; i < n; i++ {
		pos := off + 8*((at+i)%slots)
		for { // a deletion may shift another entry into pos
			s := t.word(pos)
			if s&expiresBit == 0 {
				break // empty, or a record without an expiry: no need to read it
			}
			r := t.recordMeta(slotOff(s))
			if r.flags&recExpires == 0 || r.expiry > now {
				break
			}
			if most > 0 && deleted >= most || t.logUse()+t.shiftCost(pos)+releaseCost > t.evictBudget() {
				break scan
			}
			t.release(slotOff(s))
			t.clearSlot(pos)
			deleted++
		}
	}
	t.setWord(hdrReclaimAt, (at+i)%slots)
	if deleted > 0 {
		t.addWord(hdrExpired, int64(deleted))
	}
	return deleted, i
}

// DeleteExpired removes up to max expired entries (all of them if max <= 0)
// in one pass over the table from where the last sweep stopped, and returns
// how many it removed. Expired entries are invisible before that; this frees
// their space and takes them out of Stats.ExpiredKeys. It works in stretches
// of the table, one transaction each, so other writers get the lock in
// between. It returns ErrReadOnly, ErrClosed, ErrLocked, ErrInvalid inside an
// Update's fn and ErrCorrupt, with the count removed until then.
func (db *DB) DeleteExpired(max int) (int, error) {
	const stretch = 4096
	total := 0
	for scanned, slots := uint64(0), uint64(1); scanned < slots; {
		stop := false
		err := db.write("DeleteExpired", func(t *txn) error {
			_, log2 := t.table()
			slots = uint64(1) << log2
			if t.word(hdrTTLKeys) == 0 {
				stop = true
				return nil
			}
			left := 0
			if max > 0 {
				left = max - total
			}
			n, looked := t.reclaimExpired(min(stretch, slots-scanned), nowMillis(), left)
			total += n
			scanned += looked
			if max > 0 && total >= max || n == 0 && looked == 0 {
				stop = true // done, or a deletion larger than a log (damage)
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("kv: DeleteExpired: %w", err)
		}
		if stop {
			break
		}
	}
	return total, nil
}
