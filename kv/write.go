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
	if !p.found && t.needsRoom() {
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
	if p.found {
		t.release(slotOff(p.slot))
	} else {
		if p.tomb {
			t.addWord(hdrTombs, -1)
		}
		t.addWord(hdrKeys, 1)
		if p.dist > t.word(hdrMaxProbe) {
			t.setWord(hdrMaxProbe, p.dist)
		}
	}
	t.setWord(p.pos, makeSlot(h, off))
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
	return true
}

// clearSlot empties the slot at pos, or makes it a tombstone when a probe may
// pass through it.
func (t *txn) clearSlot(pos uint64) {
	off, log2 := t.table()
	next := off + (pos-off+8)&(8<<log2-1)
	if t.word(next) == 0 {
		// Nothing probes past an empty slot, so this one may be empty too.
		t.setWord(pos, 0)
	} else {
		t.setWord(pos, slotTomb)
		t.addWord(hdrTombs, 1)
	}
	t.addWord(hdrKeys, -1)
}

// release schedules a replaced or deleted record's space to be freed.
func (t *txn) release(off uint64) {
	r := t.recordMeta(off)
	if r.flags&recExpires != 0 {
		t.addWord(hdrTTLKeys, -1)
	}
	t.deferFree(off, r.size())
}

// writeRecord fills the space at off, which is free in the committed state.
func (t *txn) writeRecord(off uint64, size int, key, value []byte, flags uint16, expiry int64) {
	hdr := recordSize(0, 0, flags&recExpires != 0)
	if size <= maxSlabRecord {
		b := t.bytes(off, size)
		copy(b[hdr:], key)
		copy(b[hdr+len(key):], value)
		sealRecord(b, len(key), len(value), flags, expiry)
		return
	}
	b := make([]byte, size)
	copy(b[hdr:], key)
	copy(b[hdr+len(key):], value)
	sealRecord(b, len(key), len(value), flags, expiry)
	p := off - chainHeader
	for len(b) > 0 {
		n := copy(t.bytes(p+chainHeader, chainSpace), b)
		b = b[n:]
		p = t.word(p + chainNext)
	}
}

// get returns the value of key as this transaction sees it.
func (t *txn) get(key []byte, now func() int64) ([]byte, error) {
	p := t.find(key, hashKey(t.db.seed, key))
	if !p.found {
		return nil, ErrNotFound
	}
	off := slotOff(p.slot)
	r := t.recordMeta(off)
	if r.flags&recExpires != 0 && r.expiry <= now() {
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

// fits rejects a record that could never be stored in this file.
func (db *DB) fits(size int) error {
	if db.maxSize == 0 {
		return nil
	}
	need := uint64(size)
	if size > maxSlabRecord {
		need = uint64(chainPages(size)) * PageSize
	}
	// An empty file of MaxSize keeps its header, log and smallest table.
	if room := db.maxSize - initHW; need > room {
		return fmt.Errorf("kv: a %d-byte record cannot fit in a file of MaxSize %d: %w", size, db.maxSize, ErrTooLarge)
	}
	return nil
}
