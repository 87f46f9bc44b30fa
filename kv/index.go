//go:build unix

package kv

import (
	"bytes"

	"github.com/cespare/xxhash/v2"
)

// The index: an open-addressing table of 8-byte slots with linear probing,
// living in the shared mapping (docs/format.md, "Slots"). A slot is
//
//	bits 63..39  tag: the top 25 bits of the key's seeded hash
//	bit  38      small: the entry is in a cache's small FIFO (policy.go)
//	bit  37      expires: the record carries an expiry (recExpires)
//	bits 36..35  use: the eviction policy's count of the entry's recent uses
//	             (cache mode only; see useOnWrite, useOnRead, ageOnVisit)
//	bits 34..0   record offset / 8
//
// 0 is an empty slot; 1 is never a valid slot (its record offset would be 0).
// The table has a power-of-two
// number of slots and a key's home slot is the top bits of its hash, so the
// tag alone places a key in a larger table: a rehash never reads records
// while the table has at most 2^25 slots. The tag's bits below the home's are
// what tell keys of one home apart without reading a record: a tag of 25 bits
// leaves 4 of them in a table of 2^21 slots (1M keys), where a miss meets a
// record of another key about once in 33 lookups (once in 8 with 23 bits, which
// made a miss 1.8x slower).
const (
	tagShift   = 39
	smallBit   = 1 << 38 // the entry is in the small FIFO: the main hand passes it by
	expiresBit = 1 << 37 // the slot's record carries an expiry: sweeps read only these
	tagBits    = 64 - tagShift
	useShift   = 35
	useMax     = 3
	useBits    = useMax << useShift
	offMask    = 1<<useShift - 1
	minLog2    = 9  // one page of slots
	maxLog2    = 35 // 8<<35 bytes: a table as large as the largest file
	maxLoadNum = 3  // rehash when used slots pass 3/4
	maxLoadDen = 4
)

func makeSlot(h, off uint64) uint64 { return h>>tagShift<<tagShift | off>>3 }
func slotOff(s uint64) uint64       { return (s & offMask) << 3 }
func slotTag(s uint64) uint64       { return s >> tagShift }
func sameSlot(a, b uint64) bool     { return a&^useBits == b&^useBits }
func slotUse(s uint64) uint64       { return s >> useShift & useMax }
func withUse(s, use uint64) uint64  { return s&^useBits | use<<useShift }

// The eviction policy's bookkeeping in a slot's use bits (docs/cache.md,
// "Eviction"). A write stores its slot with useOnWrite of the slot it
// replaces; a reader that finds its key raises the count with one
// compare-and-swap, outside the log, and only when it changes (useOnRead);
// the eviction hand, passing the entry, either keeps it with its count
// lowered or evicts it (ageOnVisit).

// useOnWrite is the use count a write gives the slot of a key it replaces:
// a write is a use. A new key's count comes from the policy (txn.admit).
func useOnWrite(old uint64) uint64 { return min(slotUse(old)+1, useMax) }

// useOnRead is the slot a hit leaves, and whether it differs from s.
func useOnRead(s uint64) (uint64, bool) {
	if u := slotUse(s); u < useMax {
		return withUse(s, u+1), true
	}
	return s, false
}

// ageOnVisit is what the hand does with an entry it passes: keep it with the
// returned slot, or evict it.
func ageOnVisit(s uint64) (uint64, bool) {
	if u := slotUse(s); u > 0 {
		return withUse(s, u-1), true
	}
	return s, false
}

// tableWord packs the table's page-aligned offset and log2 of its slot count.
func tableParts(w uint64) (off uint64, log2 uint) { return w &^ 63, uint(w & 63) }

// hashKey is the per-file seeded hash of a key: xxhash64 of the seed's eight
// little-endian bytes followed by the key. Keys that fit a small stack buffer
// take xxhash's one-shot path, several times faster than a streaming Digest.
func hashKey(seed uint64, key []byte) uint64 {
	if len(key) <= 56 {
		var buf [64]byte
		le.PutUint64(buf[:], seed)
		n := copy(buf[8:], key)
		return xxhash.Sum64(buf[:8+n])
	}
	var d xxhash.Digest
	var s [8]byte
	le.PutUint64(s[:], seed)
	d.Reset()
	d.Write(s[:])
	d.Write(key)
	return d.Sum64()
}

// table returns the current table as this transaction sees it.
func (t *txn) table() (off uint64, log2 uint) {
	off, log2 = tableParts(t.word(hdrTable))
	if log2 < minLog2 || log2 > maxLog2 || off%PageSize != 0 || off < PageSize || off+8<<log2 > t.limit {
		corruptf("slot table %d (2^%d slots) outside the file", off, log2)
	}
	return off, log2
}

// probe is the result of looking a key up for writing.
type probe struct {
	found bool
	pos   uint64 // offset of the key's slot, or of the slot to insert into
	slot  uint64 // the slot's word when found
	dist  uint64 // probe distance of pos
}

// find looks key up in the table as this transaction sees it.
func (t *txn) find(key []byte, h uint64) probe {
	off, log2 := t.table()
	mask := uint64(1)<<log2 - 1
	i := h >> (64 - log2)
	tag := h >> tagShift
	for d := uint64(0); d <= mask; d++ {
		pos := off + 8*i
		s := t.word(pos)
		switch {
		case s == 0:
			return probe{pos: pos, dist: d}
		case slotTag(s) == tag && t.keyAt(slotOff(s), key):
			return probe{found: true, pos: pos, slot: s, dist: d}
		}
		i = (i + 1) & mask
	}
	corruptf("slot table %d has no free slot", off)
	return probe{}
}

// keyAt reports whether the record at off has this key.
func (t *txn) keyAt(off uint64, key []byte) bool {
	r := t.recordMeta(off)
	if r.klen != len(key) {
		return false
	}
	if r.size() <= maxSlabRecord {
		return bytes.Equal(t.bytes(off+uint64(r.hdr), r.klen), key)
	}
	return bytes.Equal(t.chainPrefix(off, r.hdr+r.klen)[r.hdr:], key)
}

// recordMeta decodes the header of a committed record.
func (t *txn) recordMeta(off uint64) recordMeta {
	if off%8 != 0 || off < PageSize || off+recHeader+8 > t.limit {
		corruptf("record offset %d outside the file", off)
	}
	r, ok := parseRecordHeader(t.bytes(off, recHeader+8))
	if !ok {
		corruptf("page %d offset %d: bad record header", off/PageSize, off%PageSize)
	}
	return r
}

// needsRoom reports whether inserting one more key calls for a rehash first.
func (t *txn) needsRoom() bool {
	_, log2 := t.table()
	used := t.word(hdrKeys) + 1
	return used*maxLoadDen > maxLoadNum<<log2
}

// rehash builds a new table in fresh pages, sized so that the live keys fill at
// most half of it, publishes it, and frees the old one at commit. Readers
// still probing the old table notice the table word change and retry. The new
// table is written directly (nothing committed refers to it), so a durable
// commit's log carries its hash instead of its words.
func (t *txn) rehash() error {
	oldOff, oldLog2 := t.table()
	keys := t.word(hdrKeys)
	if keys > 1<<oldLog2 {
		corruptf("header counts %d keys in a table of %d slots", keys, uint64(1)<<oldLog2)
	}
	log2 := uint(minLog2)
	for (keys+1)*2 > 1<<log2 {
		log2++
	}
	if log2 > maxLog2 {
		corruptf("%d keys need more than 2^%d slots", keys, maxLog2)
	}
	pages := int((8<<log2 + PageSize - 1) / PageSize)
	newOff, err := t.bumpPages(pages)
	if err != nil {
		return err
	}
	fresh := t.bytes(newOff, 8<<log2)
	clear(fresh) // fresh pages may hold bytes of an aborted transaction
	nm := t.m()
	mask := uint64(1)<<log2 - 1
	viaOverlay := t.ov.inRange(oldOff, oldOff+8<<oldLog2)
	var maxDist, copied uint64
	for i := uint64(0); i < 1<<oldLog2; i++ {
		pos := oldOff + 8*i
		var s uint64
		if viaOverlay {
			s = t.word(pos)
		} else {
			s = nm.load(pos)
		}
		if s == 0 {
			continue
		}
		// Half the new table stays empty for the keys the header counts;
		// more entries than that means the header lied.
		if copied++; copied > keys || copied > mask {
			corruptf("slot table %d holds more entries than the %d keys the header counts", oldOff, keys)
		}
		// The use bits move with the entry: a rehash is no reason to evict.
		var j uint64
		if log2 <= tagBits {
			j = slotTag(s) >> (tagBits - log2)
		} else {
			j = t.hashAt(slotOff(s)) >> (64 - log2)
		}
		for d := uint64(0); ; d++ {
			w := newOff + 8*j
			if nm.load(w) == 0 {
				nm.store(w, s)
				maxDist = max(maxDist, d)
				break
			}
			j = (j + 1) & mask
		}
	}
	t.fresh = [2]uint64{newOff, newOff + 8<<log2}
	t.setWord(hdrTable, newOff|uint64(log2))
	t.setWord(hdrMaxProbe, maxDist)
	t.addWord(hdrRehashes, 1)
	t.ov.drop(oldOff, oldOff+8<<oldLog2)
	t.deferFreePages(oldOff, int((8<<oldLog2+PageSize-1)/PageSize))
	return nil
}

// hashAt rehashes the key of the record at off (only for tables beyond 2^23 slots).
func (t *txn) hashAt(off uint64) uint64 {
	r := t.recordMeta(off)
	var key []byte
	if r.size() <= maxSlabRecord {
		key = t.bytes(off+uint64(r.hdr), r.klen)
	} else {
		key = t.chainPrefix(off, r.hdr+r.klen)[r.hdr:]
	}
	return hashKey(t.db.seed, key)
}

// chainPrefix returns the first n bytes of the committed chained record at off.
func (t *txn) chainPrefix(off uint64, n int) []byte {
	out := make([]byte, 0, n)
	p := off - chainHeader
	for len(out) < n {
		t.checkPage(p, kindChain)
		out = append(out, t.bytes(p+chainHeader, min(chainSpace, n-len(out)))...)
		p = t.word(p + chainNext)
	}
	return out
}
