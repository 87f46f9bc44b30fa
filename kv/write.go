//go:build unix

package kv

import "fmt"

// The write operations of a transaction. Each either completes or, on error,
// leaves the transaction as it was (callers roll back to a savepoint).

// put stores key=value, replacing any previous value.
func (t *txn) put(key, value []byte, flags uint16, expiry int64) error {
	size := recordSize(len(key), len(value), flags&recExpires != 0)
	if err := t.db.fits(size); err != nil {
		return err
	}
	h := hashKey(t.db.seed, key)
	p := t.find(key, h)
	if !p.found && t.db.evict && t.ringFull() {
		// The new key's reference needs room in the small FIFO: let its
		// oldest entry go first (which may move slots), then look again.
		t.popSmall(nowMillis(), nil)
		p = t.find(key, h)
	}
	if !p.found && t.needsRoom() {
		if t.db.evict {
			// A cache's table was made for the keys MaxSize can hold and
			// never grows: eviction makes room in it.
			return errNoRoom
		}
		if err := t.rehash(); err != nil {
			return err
		}
		p = t.find(key, h)
	}
	off, err := t.allocRecord(size)
	if err != nil {
		return err
	}
	t.writeRecord(off, size, key, value, flags, expiry)
	if flags&recExpires != 0 {
		t.addWord(hdrTTLKeys, 1)
	}
	if flags&recPending != 0 {
		t.addWord(hdrLeases, 1)
	}
	if p.found {
		t.release(slotOff(p.slot))
	} else {
		t.addWord(hdrKeys, 1)
		if p.dist > t.word(hdrMaxProbe) {
			t.setWord(hdrMaxProbe, p.dist)
		}
	}
	s := makeSlot(h, off)
	if flags&recExpires != 0 {
		s |= expiresBit
	}
	small := false
	if t.db.evict {
		var use uint64
		if p.found {
			use = useOnWrite(p.slot)
			s |= p.slot & smallBit // it stays where it is
		} else if use, small = t.admit(h); small {
			s |= smallBit
		}
		s = withUse(s, use)
	}
	t.setWord(p.pos, s)
	t.keys++
	if small {
		t.pushSmall(h, allocatedSize(size))
	}
	return nil
}

// del removes key; it reports whether the key was there.
func (t *txn) del(key []byte) bool {
	h := hashKey(t.db.seed, key)
	p := t.find(key, h)
	if !p.found {
		return false
	}
	t.release(slotOff(p.slot))
	t.clearSlot(p.pos)
	t.keys++
	return true
}

// clearSlot deletes the entry at pos by backward shift: each later entry of
// the cluster that may live closer to its home moves back into the hole, and
// the last hole becomes empty. No tombstones are left, so a table churned by
// deletes never needs a rehash, which would need fresh contiguous pages.
// After it, pos may hold another entry: callers scanning the table look at pos
// again. The slot stores land inside the log's move window, which readers
// watch (docs/concurrency.md, "Deletion").
func (t *txn) clearSlot(pos uint64) {
	off, log2 := t.table()
	mask := uint64(1)<<log2 - 1
	t.window = true
	i := (pos - off) / 8
	for j := (i + 1) & mask; j != i; j = (j + 1) & mask {
		s := t.word(off + 8*j)
		if s == 0 {
			break
		}
		if home := t.home(s, log2); !cyclicIn(home, i, j) {
			t.setWord(off+8*i, s)
			i = j
		}
	}
	t.setWord(off+8*i, 0)
	t.addWord(hdrKeys, -1)
}

// shiftCost is how many slots a deletion at pos would rewrite: an upper bound
// of the log entries clearSlot adds for its slots, known before it runs.
func (t *txn) shiftCost(pos uint64) int {
	off, log2 := t.table()
	mask := uint64(1)<<log2 - 1
	i := (pos - off) / 8
	n := 1
	for j := (i + 1) & mask; j != i; j = (j + 1) & mask {
		if t.word(off+8*j) == 0 {
			break
		}
		n++
	}
	return n
}

// cyclicIn reports whether h lies in the cyclic interval (i, j].
func cyclicIn(h, i, j uint64) bool {
	if i <= j {
		return i < h && h <= j
	}
	return h > i || h <= j
}

// home is the home slot of the entry s in a table of 2^log2 slots.
func (t *txn) home(s uint64, log2 uint) uint64 {
	if log2 <= tagBits {
		return slotTag(s) >> (tagBits - log2)
	}
	return t.hashAt(slotOff(s)) >> (64 - log2)
}

// release schedules a replaced or deleted record's space to be freed.
func (t *txn) release(off uint64) {
	r := t.recordMeta(off)
	if r.flags&recExpires != 0 {
		t.addWord(hdrTTLKeys, -1)
	}
	if r.flags&recPending != 0 {
		t.addWord(hdrLeases, -1)
	}
	t.deferFree(off, r.size())
}

// writeRecord fills the space at off, which is free in the committed state,
// then raises the generation of every page it wrote, so that a reader that
// copied those bytes while they changed sees it (docs/concurrency.md,
// "Readers"). The log keeps the record's place and hash (recover.go).
func (t *txn) writeRecord(off uint64, size int, key, value []byte, flags uint16, expiry int64) {
	hdr := recordSize(0, 0, flags&recExpires != 0)
	m := t.m()
	var h uint64
	if size <= maxSlabRecord {
		b := t.bytes(off, size)
		copy(b[hdr:], key)
		copy(b[hdr+len(key):], value)
		h = sealRecord(b, len(key), len(value), flags, expiry)
		m.add(off&^(PageSize-1)+pageGen, 1)
	} else {
		b := make([]byte, size)
		copy(b[hdr:], key)
		copy(b[hdr+len(key):], value)
		h = sealRecord(b, len(key), len(value), flags, expiry)
		p := off - chainHeader
		for len(b) > 0 {
			n := copy(t.bytes(p+chainHeader, chainSpace), b)
			b = b[n:]
			m.add(p+pageGen, 1)
			p = t.word(p + chainNext)
		}
	}
	t.extents = append(t.extents, extent{off: off, size: uint64(size), hash: h})
}

// get returns the value of key as this transaction sees it.
func (t *txn) get(key []byte, now func() int64) ([]byte, error) {
	p := t.find(key, hashKey(t.db.seed, key))
	if !p.found {
		return nil, ErrNotFound
	}
	off := slotOff(p.slot)
	r := t.recordMeta(off)
	if r.flags&recExpires != 0 && r.expiry <= now() || r.flags&recPending != 0 {
		return nil, ErrNotFound
	}
	var rec []byte
	if r.size() <= maxSlabRecord {
		rec = t.bytes(off, r.size())
	} else {
		rec = make([]byte, 0, r.size())
		p := off - chainHeader
		for len(rec) < r.size() {
			t.checkPage(p, kindChain)
			n := min(chainSpace, r.size()-len(rec))
			rec = append(rec, t.bytes(p+chainHeader, n)...)
			p = t.word(p + chainNext)
		}
	}
	if !recordSumOK(rec, r) {
		corruptf("page %d offset %d: record checksum mismatch", off/PageSize, off%PageSize)
	}
	return append([]byte{}, rec[r.hdr+r.klen:]...), nil
}

// fits rejects, before anything is evicted or written, a record that this
// file could never hold. A cache holds any record of up to 1/8 of MaxSize
// (the allocated size: whole pages for a chained record), so that eviction can
// always make room for it without emptying the cache; a bounded file that
// does not evict holds any record that fits beside its header, log and
// smallest table.
func (db *DB) fits(size int) error {
	if db.maxSize == 0 {
		return nil
	}
	need := allocatedSize(size)
	room := db.maxSize - db.minHW
	if db.evict {
		room = db.maxSize / 8
	}
	if need > room {
		return fmt.Errorf("kv: a %d-byte record needs %d bytes, more than the %d a file of MaxSize %d holds for one record: %w",
			size, need, room, db.maxSize, ErrTooLarge)
	}
	return nil
}
