//go:build unix

package kv

import "math/bits"

// The cache's eviction policy (docs/cache.md, "Eviction"): S3-FIFO fitted to
// a shared mapping. A new key enters a small FIFO, a ring of references in
// insertion order holding about 1/8 of the record space; the rest of the
// space is main, swept by a CLOCK hand in address order (evict.go). Each
// entry's use is the 2-bit count in its slot (useOnRead: readers raise it,
// outside the log, only when it changes). When the small FIFO is over its
// share, its oldest entry leaves it: if it was used since it came in it stays
// (now in main), otherwise it is evicted and its fingerprint goes into the
// ghost, a table of the recent small-FIFO evictions. A key written again
// while its fingerprint is in the ghost skips the small FIFO. So a one-pass
// scan turns over only the small FIFO, and main keeps what is used. The
// parameters were chosen by replaying traces against LRU, otter and
// ristretto (bench/POLICY.md).
//
// The ring, the ghost and their header words change through the log like
// everything else, but they are hints: a stale reference (its key deleted or
// rewritten since) is skipped, a false ghost hit only admits a key to main.

const (
	ghostWays   = 8  // 32-bit words a bucket holds: one 32-byte line
	ghostEpochs = 64 // a fingerprint is forgotten after 64 epochs of G/64 inserts
	epochBits   = 12
	fpBits      = 20
	fpShift     = 20 // fingerprint bits of the hash: below the tag, above the bucket
	// smallShare sets the small FIFO's share: 1/8 of MaxSize, so that a
	// stream of new keys keeps at least its last 1/8 of MaxSize.
	smallShare = 8
)

// cacheLayout sizes the ring and the ghost of a cache whose table has 2^log2
// slots and MaxSize is maxSize.
func cacheLayout(log2 uint, maxSize uint64) (ringCap, ghostBuckets uint64) {
	// The references the small FIFO's share of 1/8 of MaxSize holds in
	// records of 32 bytes, and an eighth more, so that the ring is never
	// what limits the share.
	ringCap = max(maxSize/smallShare/32*9/8, 16)
	// The ghost remembers a quarter of the slots' worth of evictions (half the
	// entries the table holds at its bound) in twice as many words.
	ghostBuckets = max(uint64(1)<<log2/2/ghostWays, 1)
	return ringCap, ghostBuckets
}

// ringRef packs a reference: the top 48 bits of the key's hash and its size,
// in 16-byte units for a slab record or in pages (top bit set) for a chain.
func ringRef(h uint64, allocated uint64) uint64 {
	var size uint64
	if allocated > uint64(maxSlabRecord) {
		size = 1<<15 | min(allocated/PageSize, 1<<15-1)
	} else {
		size = allocated / 16
	}
	return h&^0xffff | size
}

func refSize(ref uint64) uint64 {
	if s := ref & 0xffff; s&(1<<15) != 0 {
		return (s &^ (1 << 15)) * PageSize
	} else {
		return s * 16
	}
}

// ghostFingerprint takes hash bits 20-39, below the tag. The bucket is the
// hash's top bits (ghostBucket): a ring reference keeps only the hash's top
// 48 bits, and the ghost must place a reference's key as it places the key.
func ghostFingerprint(h uint64) uint32 {
	fp := uint32(h>>fpShift) & (1<<fpBits - 1)
	return max(fp, 1) // 0 is an empty word
}

// ghostBucket is the bucket of h in a ghost of buckets (a power of two).
func ghostBucket(h, buckets uint64) uint64 {
	if buckets <= 1 {
		return 0
	}
	return h >> (64 - bits.Len64(buckets-1))
}

// ghostWord returns the offset of the 8-byte word holding ghost word i of
// the bucket of h, and which half of it.
func (t *txn) ghostWord(bucket uint64, i int) (uint64, uint) {
	off := t.word(hdrGhostOff) + bucket*ghostWays*4 + uint64(i)*4
	return off &^ 7, uint(off&4) * 8
}

func (t *txn) ghostEpoch() uint64 {
	g := t.word(hdrGhostBuckets) * ghostWays / 2 // fingerprints remembered
	return t.word(hdrGhostInserts) / max(g/ghostEpochs, 1) % (1 << epochBits)
}

// ghostHas reports whether h's fingerprint is in the ghost and alive.
func (t *txn) ghostHas(h uint64) bool {
	buckets := t.word(hdrGhostBuckets)
	if buckets == 0 {
		return false
	}
	bucket, fp, now := ghostBucket(h, buckets), ghostFingerprint(h), t.ghostEpoch()
	for i := 0; i < ghostWays; i++ {
		off, shift := t.ghostWord(bucket, i)
		w := uint32(t.word(off) >> shift)
		if w>>epochBits == fp && (now-uint64(w&(1<<epochBits-1)))%(1<<epochBits) < ghostEpochs {
			return true
		}
	}
	return false
}

// ghostAdd remembers h's fingerprint: in the bucket's first dead word, else
// its oldest.
func (t *txn) ghostAdd(h uint64) {
	buckets := t.word(hdrGhostBuckets)
	if buckets == 0 {
		return
	}
	bucket, fp, now := ghostBucket(h, buckets), ghostFingerprint(h), t.ghostEpoch()
	victim, oldest := 0, uint64(0)
	for i := 0; i < ghostWays; i++ {
		off, shift := t.ghostWord(bucket, i)
		w := uint32(t.word(off) >> shift)
		age := (now - uint64(w&(1<<epochBits-1))) % (1 << epochBits)
		if w == 0 || age >= ghostEpochs {
			victim = i
			break
		}
		if age > oldest {
			victim, oldest = i, age
		}
	}
	off, shift := t.ghostWord(bucket, victim)
	w := t.word(off)&^(0xffffffff<<shift) | uint64(fp)<<epochBits<<shift | now<<shift
	t.setWord(off, w)
	t.addWord(hdrGhostInserts, 1)
}

// recordSpace is what records can use of a cache: MaxSize less the header,
// the logs, the table, the ring and the ghost.
func (t *txn) recordSpace() uint64 {
	end := t.word(hdrGhostOff) + uint64(roundUp(int64(t.word(hdrGhostBuckets)*ghostWays*4), PageSize))
	return t.maxSize - min(end, t.maxSize)
}

// admit is the use count a new key's slot starts with, and whether it enters
// the small FIFO (a key the ghost remembers goes to main at once).
func (t *txn) admit(h uint64) (use uint64, small bool) {
	if t.ghostHas(h) {
		return 1, false
	}
	return 0, true
}

// ringFull reports whether the small FIFO's ring has no room for another
// reference (its share of bytes is held in records of under 32 bytes).
func (t *txn) ringFull() bool {
	cap := t.word(hdrRingCap)
	return cap > 0 && t.word(hdrRingTail)-t.word(hdrRingHead) >= cap
}

// pushSmall records a new key in the small FIFO; the caller made room in the
// ring (a full one loses its oldest reference here, as a last resort).
func (t *txn) pushSmall(h, allocated uint64) {
	cap := t.word(hdrRingCap)
	if cap == 0 {
		return
	}
	if t.word(hdrRingTail)-t.word(hdrRingHead) >= cap {
		t.setWord(hdrRingHead, t.word(hdrRingHead)+1) // the array is full: a reference is lost
	}
	tail := t.word(hdrRingTail)
	t.setWord(t.word(hdrRingOff)+8*(tail%cap), ringRef(h, allocated))
	t.setWord(hdrRingTail, tail+1)
	t.setWord(hdrSmallBytes, min(t.word(hdrSmallBytes)+allocated, t.word(hdrLiveBytes)))
}

// smallTurn reports whether the next eviction step takes from the small
// FIFO: it is over its share, or main is empty.
func (t *txn) smallTurn() bool {
	if t.word(hdrRingTail) == t.word(hdrRingHead) {
		return false
	}
	small := t.word(hdrSmallBytes)
	return small > t.word(hdrSmallCap) || small >= t.word(hdrLiveBytes)
}

// popSmall lets the small FIFO's oldest entry go: an entry used since it came
// in stays, in main; an unused one is evicted and remembered in the ghost,
// except while the cache fills for the first time (see hdrMainFilled). It
// reports whether it made the step, false when evicting would overrun the log
// budget.
func (t *txn) popSmall(now int64, sw *sweep) bool {
	if t.logUse()+4 > t.evictBudget() {
		return false // the ring head, the small bytes, the slot of an entry kept
	}
	cap := t.word(hdrRingCap)
	head := t.word(hdrRingHead)
	ref := t.word(t.word(hdrRingOff) + 8*(head%cap))
	p, r, found := t.findByHash(ref)
	if found {
		gone := r.flags&recExpires != 0 && r.expiry <= now
		keep := slotUse(p.slot) > 0 && !gone
		if !keep && !gone && t.word(hdrMainFilled) == 0 {
			// A cache full for the first time keeps what it was given:
			// main takes the oldest of it, until the small FIFO is down to
			// its share, and from then on only what was used.
			keep = true
		}
		if keep && p.slot&smallBit != 0 {
			t.setWord(p.pos, p.slot&^smallBit) // now in main
		}
		if !keep {
			if t.logUse()+t.shiftCost(p.pos)+releaseCost+2 > t.evictBudget() {
				return false
			}
			t.release(slotOff(p.slot))
			t.clearSlot(p.pos)
			t.ghostAdd(ref)
			if sw != nil {
				sw.evicted++
				sw.freed += allocatedSize(r.size())
				if gone {
					sw.expired++
				}
			}
		}
	}
	t.setWord(hdrRingHead, head+1)
	small := t.word(hdrSmallBytes) - min(refSize(ref), t.word(hdrSmallBytes))
	if head+1 == t.word(hdrRingTail) {
		small = 0 // an empty ring owns no space, whatever drift the sizes had
	}
	t.setWord(hdrSmallBytes, small)
	if small <= t.word(hdrSmallCap) && t.word(hdrMainFilled) == 0 {
		t.setWord(hdrMainFilled, 1)
	}
	return true
}

// findByHash finds the entry whose key's hash has the top 48 bits of ref.
func (t *txn) findByHash(ref uint64) (probe, recordMeta, bool) {
	off, log2 := t.table()
	mask := uint64(1)<<log2 - 1
	i := ref >> (64 - log2)
	tag := ref >> tagShift
	for d := uint64(0); d <= mask; d++ {
		pos := off + 8*i
		s := t.word(pos)
		if s == 0 {
			break
		}
		if slotTag(s) == tag {
			r := t.recordMeta(slotOff(s))
			var key []byte
			if r.size() <= maxSlabRecord {
				key = t.bytes(slotOff(s)+uint64(r.hdr), r.klen)
			} else {
				key = t.chainPrefix(slotOff(s), r.hdr+r.klen)[r.hdr:]
			}
			if hashKey(t.db.seed, key)&^0xffff == ref&^0xffff {
				return probe{found: true, pos: pos, slot: s, dist: d}, r, true
			}
		}
		i = (i + 1) & mask
	}
	return probe{}, recordMeta{}, false
}
