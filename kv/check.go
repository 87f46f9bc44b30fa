//go:build unix

package kv

import (
	"bytes"
	"fmt"
	"math/bits"
	"runtime/debug"
	"strings"
)

// Check verifies every structure of the file: the header, the log, the slot
// table, every record and its checksum, the slab pages, the free list and the
// counters. It holds the writer lock meanwhile (readers go on). It returns nil,
// or an error wrapping ErrCorrupt that lists each problem on its own line with
// the page and offset where it is.
//
// A write committed by a writer that was killed before finishing it is not
// damage: a read-write DB finishes it first; a read-only DB checks the log and
// reports it in Stats.PendingRepair.
//
// Besides ErrCorrupt, Check returns ErrClosed on a closed DB, ErrLocked when
// the writer lock is not free within Options.LockTimeout, and ErrInvalid when
// called inside an Update's fn.
func (db *DB) Check() (err error) {
	release, err := db.holdStill()
	if err != nil {
		return err
	}
	defer release()
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	if !db.readOnly {
		if _, err := db.recoverPending(); err != nil {
			return err
		}
	}
	c := checker{db: db}
	c.run()
	if len(c.problems) == 0 {
		return nil
	}
	const most = 100
	msg := c.problems
	if len(msg) > most {
		msg = append(msg[:most:most], fmt.Sprintf("... and %d more", len(c.problems)-most))
	}
	return fmt.Errorf("kv: check %s: %d problem(s):\n%s\n%w", db.f.path, len(c.problems), strings.Join(msg, "\n"), ErrCorrupt)
}

// checker gathers problems instead of stopping at the first.
type checker struct {
	db       *DB
	m        *mapping
	limit    uint64
	hw       uint64
	owner    []byte              // per page below hw: who owns it
	objects  map[uint64][]uint64 // slab page -> bitmap of referenced objects
	live     uint64              // record bytes referenced, by the allocator's measure
	ttlKeys  uint64              // records that carry an expiry
	leases   uint64              // GetOrCompute leases
	problems []string
}

const (
	ownNone = iota
	ownHeader
	ownLog
	ownTable
	ownSlab
	ownChain
	ownFree
	ownCache
)

var ownerName = [...]string{"nothing", "the header", "the log", "the slot table", "a slab", "a record chain", "the free list", "the cache's ring or ghost"}

func (c *checker) addf(page, off uint64, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("page %d offset %d: ", page, off)+fmt.Sprintf(format, args...))
}

func (c *checker) word(off uint64) uint64 { return c.m.load(off) }

func (c *checker) run() {
	f := c.db.f
	size, err := f.fileSize()
	if err != nil {
		c.addf(0, 0, "%v", err)
		return
	}
	c.m = f.m.Load()
	published := c.word(hdrFileSize)
	if published > uint64(size) {
		c.addf(0, hdrFileSize, "header says %d bytes, the file has %d", published, size)
		return
	}
	f.ensure(int64(published))
	c.m, c.limit = f.m.Load(), uint64(f.limit.Load())
	if _, err := parseFixedHeader(c.m.data[:PageSize]); err != nil {
		c.addf(0, 0, "%v", err)
		return
	}
	if st := c.word(hdrState); st != stateReady {
		c.addf(0, hdrState, "state %d, want %d (ready)", st, stateReady)
	}
	if c.db.pendingRepair() {
		if c.db.readOnly {
			return // legal: the next writer finishes it; the rest is mid-update
		}
		c.addf(regionOff(c.word(hdrApplied)+1, c.db.logPages)/PageSize, 0, "a complete log is still waiting to be applied")
	}
	if a, b := c.word(hdrApplying), c.word(hdrApplied); a != b {
		c.addf(0, hdrApplying, "log %d was being applied, the last applied is %d, and no complete log is pending", a, b)
	}
	if a, b := c.word(hdrWindowStart), c.word(hdrWindowEnd); a != b {
		c.addf(0, hdrWindowStart, "move window of log %d open (last closed: %d) with no log pending", a, b)
	}
	c.hw = c.word(hdrHighWater)
	if c.hw%PageSize != 0 || c.hw < c.db.minHW || c.hw > c.limit {
		c.addf(0, hdrHighWater, "high-water mark %d outside the file (%d bytes)", c.hw, c.limit)
		return
	}
	c.owner = make([]byte, c.hw/PageSize)
	c.own(0, 1, ownHeader)
	c.own(PageSize, 2*c.db.logPages, ownLog)
	c.objects = make(map[uint64][]uint64)
	c.checkCacheTables()
	c.checkTable()
	c.checkFreeList()
	c.checkPages()
	c.checkClassLists()
	if got := c.word(hdrLiveBytes); got != c.live {
		c.addf(0, hdrLiveBytes, "live bytes %d, records hold %d", got, c.live)
	}
	if got := c.word(hdrTTLKeys); got != c.ttlKeys {
		c.addf(0, hdrTTLKeys, "header counts %d expiring records, the table holds %d", got, c.ttlKeys)
	}
}

// checkCacheTables claims the pages of a cache's ring and ghost (policy.go)
// and checks their header words.
func (c *checker) checkCacheTables() {
	ring, ringCap, ghost, buckets := c.word(hdrRingOff), c.word(hdrRingCap), c.word(hdrGhostOff), c.word(hdrGhostBuckets)
	if ring == 0 && ringCap == 0 && ghost == 0 && buckets == 0 {
		if c.db.evict && c.word(hdrSmallCap) != 0 {
			c.addf(0, hdrSmallCap, "a small FIFO share without a ring")
		}
		return
	}
	if !c.db.evict {
		c.addf(0, hdrRingOff, "cache tables in a file that does not evict")
	}
	ringPages := uint64(roundUp(int64(8*min(ringCap, maxFileSize)), PageSize)) / PageSize
	if ring%PageSize != 0 || ring < PageSize || ring+ringPages*PageSize > c.hw || ringCap == 0 {
		c.addf(0, hdrRingOff, "ring %d of %d references outside the allocated pages", ring, ringCap)
	} else {
		c.own(ring, ringPages, ownCache)
	}
	ghostPages := uint64(roundUp(int64(min(buckets, maxFileSize)*ghostWays*4), PageSize)) / PageSize
	if ghost%PageSize != 0 || ghost < PageSize || ghost+ghostPages*PageSize > c.hw || buckets == 0 || buckets&(buckets-1) != 0 {
		c.addf(0, hdrGhostOff, "ghost %d of %d buckets outside the allocated pages", ghost, buckets)
	} else {
		c.own(ghost, ghostPages, ownCache)
	}
	if head, tail := c.word(hdrRingHead), c.word(hdrRingTail); head > tail || tail-head > ringCap {
		c.addf(0, hdrRingHead, "ring head %d, tail %d: more than its %d references", head, tail, ringCap)
	}
}

// own marks n pages from off as owned by who, reporting double ownership.
func (c *checker) own(off, n uint64, who byte) bool {
	ok := true
	for p := off / PageSize; p < off/PageSize+n; p++ {
		if p >= uint64(len(c.owner)) {
			c.addf(p, 0, "%s beyond the high-water mark", ownerName[who])
			return false
		}
		if c.owner[p] != ownNone && !(c.owner[p] == who && who == ownSlab) {
			c.addf(p, 0, "claimed by both %s and %s", ownerName[c.owner[p]], ownerName[who])
			ok = false
		}
		c.owner[p] = who
	}
	return ok
}

func (c *checker) checkTable() {
	toff, log2 := tableParts(c.word(hdrTable))
	n := uint64(1) << min(log2, 63)
	if log2 < minLog2 || log2 > maxLog2 || toff%PageSize != 0 || toff < PageSize || toff >= c.hw || 8*n > c.hw-toff {
		c.addf(0, hdrTable, "slot table %d (2^%d slots) outside the allocated pages", toff, log2)
		return
	}
	c.own(toff, (8*n+PageSize-1)/PageSize, ownTable)
	var keys, maxDist uint64
	seen := make(map[uint64]uint64) // key hash -> record offset
	for i := uint64(0); i < n; i++ {
		pos := toff + 8*i
		s := c.word(pos)
		if s == 0 {
			continue
		}
		off := slotOff(s)
		key, ok := c.checkRecord(pos, off)
		if !ok {
			continue
		}
		keys++
		h := hashKey(c.db.seed, key)
		if slotTag(s) != h>>tagShift {
			c.addf(pos/PageSize, pos%PageSize, "slot tag does not match its key's hash")
		}
		if r, _ := c.metaOf(off); (s&expiresBit != 0) != (r.flags&recExpires != 0) {
			c.addf(pos/PageSize, pos%PageSize, "slot's expires bit %v, its record's expiry flag %v", s&expiresBit != 0, r.flags&recExpires != 0)
		}
		if !c.db.evict && (slotUse(s) != 0 || s&smallBit != 0) {
			c.addf(pos/PageSize, pos%PageSize, "cache bits set in a file that does not evict")
		}
		home := h >> (64 - log2)
		dist := (i - home) & (n - 1)
		for d := uint64(0); d < dist; d++ {
			if c.word(toff+8*((home+d)&(n-1))) == 0 {
				c.addf(pos/PageSize, pos%PageSize, "key unreachable: empty slot between its home and its slot")
				break
			}
		}
		maxDist = max(maxDist, dist)
		if prev, dup := seen[h]; dup {
			if other, ok := c.keyOf(prev); ok && bytes.Equal(other, key) {
				c.addf(pos/PageSize, pos%PageSize, "key %q stored twice", key)
			}
		}
		seen[h] = off
	}
	if got := c.word(hdrKeys); got != keys {
		c.addf(0, hdrKeys, "header counts %d keys, the table holds %d", got, keys)
	}
	if got := c.word(hdrLeases); got != c.leases {
		c.addf(0, hdrLeases, "header counts %d leases, the table holds %d", got, c.leases)
	}
	if got := c.word(hdrMaxProbe); got < maxDist {
		c.addf(0, hdrMaxProbe, "longest probe %d, the table has one of %d", got, maxDist)
	}
}

// checkRecord verifies the record a slot at pos points to and claims its space.
func (c *checker) checkRecord(pos, off uint64) ([]byte, bool) {
	rec, r, st := c.db.readRecord(off, nil, nil)
	if st != readHit {
		c.addf(off/PageSize, off%PageSize, "damaged record (slot at page %d offset %d)", pos/PageSize, pos%PageSize)
		return nil, false
	}
	if r.flags&recExpires != 0 {
		c.ttlKeys++
	}
	if r.flags&recPending != 0 {
		c.leases++
	}
	size := r.size()
	if size > maxSlabRecord {
		p := off - chainHeader
		n := uint64(chainPages(size))
		for i := uint64(0); i < n; i++ {
			if p >= c.hw || !c.own(p, 1, ownChain) {
				c.addf(p/PageSize, 0, "record chain page outside the allocated pages or shared")
				break
			}
			if head := c.word(p)&chainHead != 0; head != (i == 0) {
				c.addf(p/PageSize, 0, "chain page %d of a record is marked as a first page: %v", i, head)
			}
			p = c.word(p + chainNext)
		}
		c.live += n * PageSize
		return rec[r.hdr : r.hdr+r.klen], true
	}
	page := off &^ (PageSize - 1)
	if page >= c.hw {
		c.addf(page/PageSize, 0, "record beyond the high-water mark")
		return nil, false
	}
	w0 := c.word(page)
	cl := int(w0 >> 8 & 0xff)
	if w0&0xff != kindSlab || cl >= len(sizeClasses) || cl != classFor(size) {
		c.addf(page/PageSize, 0, "record of %d bytes in a page of kind %#x class %d", size, w0&0xff, cl)
		return nil, false
	}
	csize := sizeClasses[cl]
	idx := (int(off-page) - slabHeader) / csize
	if (int(off-page)-slabHeader)%csize != 0 {
		c.addf(page/PageSize, off-page, "record not on an object boundary of class %d", csize)
		return nil, false
	}
	c.own(page, 1, ownSlab)
	bm := c.objects[page]
	if bm == nil {
		bm = make([]uint64, 4)
		c.objects[page] = bm
	}
	if bm[idx/64]&(1<<(idx%64)) != 0 {
		c.addf(page/PageSize, off-page, "object referenced by two slots")
	}
	bm[idx/64] |= 1 << (idx % 64)
	c.live += uint64(csize)
	return rec[r.hdr : r.hdr+r.klen], true
}

func (c *checker) metaOf(off uint64) (recordMeta, bool) {
	_, r, st := c.db.readRecord(off, nil, nil)
	return r, st == readHit
}

func (c *checker) keyOf(off uint64) ([]byte, bool) {
	rec, r, st := c.db.readRecord(off, nil, nil)
	if st != readHit {
		return nil, false
	}
	return rec[r.hdr : r.hdr+r.klen], true
}

func (c *checker) checkFreeList() {
	var count uint64
	for p := c.word(hdrFreeHead); p != 0; p = c.word(p + 8) {
		if p%PageSize != 0 || p < PageSize || p >= c.hw {
			c.addf(0, hdrFreeHead, "free list points outside the allocated pages (%d)", p)
			return
		}
		if c.owner[p/PageSize] == ownFree {
			c.addf(p/PageSize, 0, "free list loops")
			return
		}
		if k := c.word(p) & 0xff; k != kindFree && k != kindChain {
			c.addf(p/PageSize, 0, "page on the free list has kind %#x", c.word(p)&0xff)
		}
		c.own(p, 1, ownFree)
		count++
	}
	if got := c.word(hdrFreePages); got != count {
		c.addf(0, hdrFreePages, "header counts %d free pages, the list has %d", got, count)
	}
}

// checkPages compares every slab page's bitmap with the references found, and
// reports pages that nothing owns.
func (c *checker) checkPages() {
	for p := uint64(1); p < uint64(len(c.owner)); p++ {
		off := p * PageSize
		switch c.owner[p] {
		case ownSlab:
			w0 := c.word(off)
			cl := int(w0 >> 8 & 0xff)
			per := objectsPerPage(cl)
			var bm [4]uint64
			used := 0
			for i := range bm {
				bm[i] = c.word(off + slabBitmap + uint64(8*i))
				used += bits.OnesCount64(bm[i])
			}
			if int(w0>>16&0xffff) != used {
				c.addf(p, 0, "slab counts %d objects, its bitmap %d", w0>>16&0xffff, used)
			}
			ref := c.objects[off]
			for i := range bm {
				if extra := bm[i] &^ ref[i]; extra != 0 {
					idx := i*64 + bits.TrailingZeros64(extra)
					c.addf(p, uint64(slabHeader+idx*sizeClasses[cl]), "object allocated but no slot points to it (%d such)", bits.OnesCount64(extra))
				}
				if missing := ref[i] &^ bm[i]; missing != 0 {
					c.addf(p, 0, "object in use but marked free in the bitmap")
				}
				if i*64 >= per && bm[i] != 0 {
					c.addf(p, 0, "bitmap marks objects past the page's end")
				}
			}
		case ownNone:
			switch c.word(off) & 0xff {
			case kindSlab:
				c.addf(p, 0, "slab page that no record uses and no list holds")
			default:
				c.addf(p, 0, "page below the high-water mark that nothing owns (kind %#x)", c.word(off)&0xff)
			}
		}
	}
}

func (c *checker) checkClassLists() {
	for cl := range sizeClasses {
		head := uint64(hdrClassHeads + 8*cl)
		var prev uint64
		steps := 0
		for p := c.word(head); p != 0; p = c.word(p + slabNext) {
			if p%PageSize != 0 || p < PageSize || p >= c.hw || steps > len(c.owner) {
				c.addf(0, head, "class %d list leaves the allocated pages or loops", sizeClasses[cl])
				break
			}
			steps++
			w0 := c.word(p)
			if w0&0xff != kindSlab || int(w0>>8&0xff) != cl {
				c.addf(p/PageSize, 0, "page on the class %d list is not a slab of that class", sizeClasses[cl])
				break
			}
			if int(w0>>16&0xffff) >= objectsPerPage(cl) {
				c.addf(p/PageSize, 0, "full slab on the free-space list")
			}
			if c.word(p+slabPrev) != prev {
				c.addf(p/PageSize, slabPrev, "back link %d, want %d", c.word(p+slabPrev), prev)
			}
			prev = p
		}
	}
}
