package main

import "fmt"

// Simulated eviction policies under the constraints of a shared cache file
// (issue 11): what a policy may keep, and where, if mapkv is to run it.
//
//   - Per-entry state is a few bits of the entry's slot word (ctr below).
//     Readers change it lock-free with one compare-and-swap, and only when it
//     changes something: a hit on a saturated counter writes nothing.
//   - Everything else is the writers': header words (hands, cursors), a ring
//     of 8-byte record references in insertion order for a small FIFO, a
//     ghost table of 32-bit fingerprints (simghost.go), a sketch of misses.
//     Writers see misses (Puts) only; hits never reach them.
//   - Records stay where the allocator put them: the main queue is a hand
//     over record memory in address order (simarena.go), never a list in
//     insertion order, and a record promoted from the small FIFO stays
//     where it is.
//
// One engine, fileSim, runs every candidate; a simConfig chooses the parts.
// It counts what each costs the file: reader writes per hit, log entries per
// Put beyond the record, its slot and its allocation (ring, ghost, sketch
// words, slot rewrites), and records the hands visit per eviction (each
// visit is a key hash and a slot probe, since the state is in the slot).
type simConfig struct {
	name string
	desc string
	// legacy selects today's two bits (read, written) instead of a counter:
	// a write sets W, a read sets R, the hand clears R, else W, else evicts.
	legacy bool
	// ctrMax is where a reader's counter saturates: 1 (one bit), 3 (two bits).
	ctrMax uint8
	// insertCtr is the counter of a new entry (a Put is a use of sorts).
	insertCtr uint8
	// small is the small FIFO's share of the record space (0: none).
	small float64
	// skipSmall makes the main hand pass over entries of the small FIFO,
	// which takes one more slot bit (S) and a slot rewrite (one log entry)
	// per promotion; without it the main hand treats them like any other.
	skipSmall bool
	// promote is the counter an entry leaving the small FIFO needs to be
	// kept (moved to main); promoteCtr its counter then (-1: unchanged).
	promote    uint8
	promoteCtr int
	// ghost is the ghost's size in evictions remembered, as a multiple of
	// the capacity in entries (0: none). An entry inserted on a ghost hit
	// skips the small FIFO and starts with ghostCtr.
	ghost    float64
	ghostCtr uint8
	// sketch: an entry leaving the small FIFO unused is kept only if the
	// sketch of misses counts it more often than the main hand's victim,
	// which is evicted in its stead (TinyLFU admission at the window).
	sketch bool
	// harvest feeds the sketch with hits too, as writers can learn them: the
	// main hand adds one for each counter it finds above zero, and a small
	// entry popped after use adds one.
	harvest bool
	// ghostAll sends the main hand's victims to the ghost as well.
	ghostAll bool
	// adapt moves the small FIFO's share as ARC moves its target: a second
	// ghost remembers main's evictions; a hit in the small FIFO's ghost grows
	// the share by the entry's size, a hit in main's ghost shrinks it (within
	// 1% and 90%). The share lives in a header word.
	adapt bool
	// batch is how many records one round of eviction frees at least; a
	// negative batch is a fraction of the capacity in entries (-64: 1/64).
	batch int
}

// simCandidates are the policies simulated, in report order. s3f-lite is
// the recommendation (see simsweep.go for the variants around it).
var simCandidates = []simConfig{
	{name: "clock-rw", legacy: true, desc: "today's bits (R, W) on a hand over record memory in address order"},
	{name: "clock2", ctrMax: 3, desc: "2-bit counter (hit +1, hand -1) on a hand in address order"},
	{name: "s3f", ctrMax: 3, small: 0.1, skipSmall: true, promote: 1, promoteCtr: -1, ghost: 1, ghostCtr: 0,
		desc: "S3-FIFO as the paper has it, mapped to the file: small ring 10%, S bit (main hand skips the ring), ghost 1x, 2-bit counter"},
	{name: "s3f-lite", ctrMax: 3, small: 0.125, promote: 1, promoteCtr: -1, ghost: 0.5, ghostCtr: 1, batch: -64,
		desc: "recommended: small ring 1/8, no S bit, ghost 0.5x, ghost hits start at 1, 2-bit counter, eviction in rounds of 1/64"},
	{name: "s3f-tlfu", ctrMax: 3, small: 0.1, promote: 1, promoteCtr: -1, sketch: true, harvest: true, batch: -64,
		desc: "small ring 10% with TinyLFU admission into main: a sketch of misses and of hits the hands see, no ghost"},
}

// simCosts counts the work a policy would do in the file.
type simCosts struct {
	hits, readerWrites       int64
	puts, evictions          int64
	handSteps                int64 // records the main hand visited
	ringPushes, ringPops     int64 // ring pops include stale references
	ghostInserts, ghostHits  int64
	promotions, slotRewrites int64
	sketchWords              int64 // sketch words written (increments and aging)
	policyRounds, pageRounds int64 // evictions by policy / pages swept for a page
	forcedPages              int64
	shareMoves               int64 // header rewrites of the adaptive share
}

func (c *simCosts) String() string {
	pp := func(n int64) float64 { return float64(n) / float64(max(c.puts, 1)) }
	pe := func(n int64) float64 { return float64(n) / float64(max(c.evictions, 1)) }
	return fmt.Sprintf("reader writes/hit %.3f; per Put: log entries %.2f (ring %.2f, ghost %.2f, slot %.2f, sketch %.2f), evictions %.2f; per eviction: hand steps %.2f, ring pops %.2f; page sweeps %d, forced %d",
		float64(c.readerWrites)/float64(max(c.hits, 1)),
		pp(c.ringPushes+c.ghostInserts+c.slotRewrites+c.sketchWords), pp(c.ringPushes), pp(c.ghostInserts), pp(c.slotRewrites), pp(c.sketchWords),
		pp(c.evictions), pe(c.handSteps), pe(c.ringPops), c.pageRounds, c.forcedPages)
}

type simEntry struct {
	key     uint64
	page    int32
	obj     int16 // -1: a chain
	ctr     uint8
	small   bool
	live    bool
	gen     uint32
	size    int32 // record bytes
	alloc   int32 // allocated bytes
	weight  int32 // capacity units
	payload int32
}

// ringRef is a small-FIFO reference as the file would store it: a record
// offset and enough of the key's hash to tell a reused object from the
// record it was (here an entry index and a generation).
type ringRef struct {
	e     int32
	gen   uint32
	alloc int32 // the record's allocated bytes
}

// policyTries bounds evictions by policy order for one allocation in bytes
// mode, where a victim of another size class frees nothing usable; past it,
// the main hand frees a whole page (pageEvict).
const policyTries = 16

// forceAfter is how many pages the hand sweeps for an empty one before it
// empties the next one whatever its entries' counters.
const forceAfter = 8

type fileSim struct {
	cfg   simConfig
	ar    *simArena
	index map[uint64]int32
	ents  []simEntry
	free  []int32
	gen   uint32
	hand  simHand

	ring              []ringRef // small FIFO, a circular buffer
	ringHead, ringLen int
	smallAlloc        int64 // allocated bytes in the small FIFO, as its header word would count them
	smallCap          int64

	batch    int
	ghost    *simGhost
	mghost   *simGhost // main's evictions (adapt)
	capBytes int64
	sketch   *simSketch
	entries  int // held entries
	weight   int64
	c        simCosts
	scratch  []int32
}

// newFileSim returns a simulated cache file of npages record pages;
// entries is the capacity in entries the ghost and sketch are sized for.
func newFileSim(cfg simConfig, npages, entries int) *fileSim {
	s := &fileSim{cfg: cfg, ar: newSimArena(npages), index: map[uint64]int32{}, batch: cfg.batch}
	if cfg.batch < 0 {
		s.batch = entries / -cfg.batch
	}
	if cfg.small > 0 {
		s.smallCap = int64(cfg.small * float64(npages*simSlabSpace))
		// The ring holds up to twice the references the share would take
		// at the mean size; full, it forces a pop.
		s.ring = make([]ringRef, max(int(2*cfg.small*float64(entries)), 16))
	}
	if cfg.ghost > 0 {
		s.ghost = newSimGhost(int(cfg.ghost * float64(entries)))
		if cfg.adapt {
			s.mghost = newSimGhost(int(cfg.ghost * float64(entries)))
		}
	}
	s.capBytes = int64(npages * simSlabSpace)
	if cfg.sketch {
		s.sketch = newSimSketch(entries)
	}
	return s
}

func (s *fileSim) get(key uint64) (bool, error) {
	i, ok := s.index[key]
	if !ok {
		return false, nil
	}
	e := &s.ents[i]
	s.c.hits++
	if s.cfg.legacy {
		if e.ctr&2 == 0 {
			e.ctr |= 2
			s.c.readerWrites++
		}
	} else if e.ctr < s.cfg.ctrMax {
		e.ctr++
		s.c.readerWrites++
	}
	return true, nil
}

func (s *fileSim) put(key uint64, weight, payload int) error {
	if _, ok := s.index[key]; ok {
		return fmt.Errorf("sim %s: put of a cached key", s.cfg.name)
	}
	s.c.puts++
	size := simRecordSize(payload)
	if size > simMaxSlab && (size+simChainSpace-1)/simChainSpace > len(s.ar.pages)/8 {
		return nil // larger than a file would accept: not stored
	}
	inGhost := s.ghost != nil && s.ghost.contains(key)
	if s.mghost != nil {
		step := int64(simAllocSize(size))
		if inGhost {
			s.smallCap = min(s.smallCap+step, s.capBytes*9/10)
			s.c.shareMoves++
		} else if s.mghost.contains(key) {
			inGhost = true
			s.smallCap = max(s.smallCap-step, s.capBytes/100)
			s.c.shareMoves++
		}
	}
	if inGhost {
		s.c.ghostHits++
	}
	s.sketchAdd(key)
	s.makeRoom(size)
	i := s.newEntry()
	e := &s.ents[i]
	*e = simEntry{key: key, live: true, gen: s.gen, size: int32(size), alloc: int32(simAllocSize(size)),
		weight: int32(weight), payload: int32(payload)}
	if s.cfg.legacy {
		e.ctr = 1 // W
	} else {
		e.ctr = s.cfg.insertCtr
	}
	e.page, e.obj = s.ar.alloc(size, i)
	s.index[key] = i
	s.entries++
	s.weight += int64(weight)
	if s.ring != nil && !inGhost {
		if s.ringLen == len(s.ring) {
			s.ringOverflow()
		}
		e = &s.ents[i]
		e.small = true
		s.smallAlloc += int64(e.alloc)
		s.ring[(s.ringHead+s.ringLen)%len(s.ring)] = ringRef{i, e.gen, e.alloc}
		s.ringLen++
		s.c.ringPushes++
	} else {
		if inGhost {
			e.ctr = s.cfg.ghostCtr
		}
	}
	return nil
}

func (s *fileSim) sketchAdd(key uint64) {
	if s.sketch != nil {
		w := s.sketch.written + s.sketch.halved
		s.sketch.add(key)
		s.c.sketchWords += int64(s.sketch.written + s.sketch.halved - w)
	}
}

func (s *fileSim) newEntry() int32 {
	s.gen++
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		return i
	}
	s.ents = append(s.ents, simEntry{})
	return int32(len(s.ents) - 1)
}

// makeRoom evicts until a record of size bytes fits (and, with a batch,
// until batch records' worth of its class is free).
func (s *fileSim) makeRoom(size int) {
	if s.ar.canAlloc(size) {
		return
	}
	want := max(s.batch, 1)
	for tries, freed := 0, 0; freed < want || !s.ar.canAlloc(size); tries++ {
		if tries >= policyTries*want {
			s.pageEvict(size)
			return
		}
		if !s.evictOne() {
			return
		}
		freed++
		s.c.policyRounds++
	}
}

// evictOne evicts one entry by the policy; false if the cache is empty.
func (s *fileSim) evictOne() bool {
	if s.entries == 0 {
		return false
	}
	if s.ringLen > 0 && (s.smallAlloc > s.smallCap || s.mainAlloc() <= 0) {
		if s.evictSmall() {
			return true
		}
	}
	return s.evictMain()
}

// ringOverflow makes room in a full ring: it pops references until one is
// live, and moves that entry to main if it was used or if main is under its
// share (the cache is not full of main entries yet: S3-FIFO then lets new
// entries into main), else evicts it.
func (s *fileSim) ringOverflow() {
	for s.ringLen > 0 {
		ref := s.popRing()
		e := &s.ents[ref.e]
		if !e.live || e.gen != ref.gen || !e.small {
			continue
		}
		if e.ctr >= s.cfg.promote || float64(s.mainAlloc()) < (1-s.cfg.small)*float64(s.capBytes) {
			s.toMain(ref.e)
		} else {
			s.evict(ref.e, true)
		}
		return
	}
}

// popRing takes the oldest reference. Without an S bit the file cannot
// tell when the main hand evicts a small entry, so the small FIFO's byte
// count drops when the reference pops (the reference carries the size);
// with one it drops when the entry leaves.
func (s *fileSim) popRing() ringRef {
	ref := s.ring[s.ringHead]
	s.ringHead = (s.ringHead + 1) % len(s.ring)
	s.ringLen--
	s.c.ringPops++
	if !s.cfg.skipSmall {
		s.smallAlloc -= int64(ref.alloc)
	}
	return ref
}

// mainAlloc is main's share of the record space: all but the small FIFO.
func (s *fileSim) mainAlloc() int64 { return s.ar.liveBytes - s.smallAlloc }

// evictSmall pops the small FIFO until it evicts an entry. Entries used
// while in the small FIFO move to main in place.
func (s *fileSim) evictSmall() bool {
	for s.ringLen > 0 {
		ref := s.popRing()
		e := &s.ents[ref.e]
		if !e.live || e.gen != ref.gen || !e.small {
			continue // evicted by the main hand or a page sweep meanwhile
		}
		if e.ctr >= s.cfg.promote {
			if s.cfg.harvest {
				s.sketchAdd(e.key)
			}
			s.toMain(ref.e)
			continue
		}
		if s.sketch != nil {
			if v := s.mainVictim(); v >= 0 && s.sketch.freq(e.key) > s.sketch.freq(s.ents[v].key) {
				s.toMain(ref.e)
				s.evict(v, false)
				return true
			}
		}
		s.evict(ref.e, true)
		return true
	}
	return false
}

func (s *fileSim) toMain(i int32) {
	e := &s.ents[i]
	e.small = false
	s.c.promotions++
	if s.cfg.skipSmall {
		s.smallAlloc -= int64(e.alloc)
		s.c.slotRewrites++ // the S bit is cleared through the log
	}
	if s.cfg.promoteCtr >= 0 {
		e.ctr = uint8(s.cfg.promoteCtr)
	}
}

// passes reports whether the hand lets entry e live: it spends one unit of
// its counter (or bit) and says true, or says false at zero.
func (s *fileSim) passes(e *simEntry) bool {
	if s.cfg.legacy {
		switch {
		case e.ctr&2 != 0:
			e.ctr &^= 2
		case e.ctr&1 != 0:
			e.ctr &^= 1
		default:
			return false
		}
		return true
	}
	if e.ctr > 0 {
		e.ctr--
		if s.cfg.harvest {
			s.sketchAdd(e.key)
		}
		return true
	}
	return false
}

// mainVictim moves the main hand to the next entry it would evict and
// returns it without evicting; the hand stays on it.
func (s *fileSim) mainVictim() int32 {
	for range 8 * (s.entries + 1) {
		save := s.hand
		i := s.hand.next(s.ar)
		if i < 0 {
			return -1
		}
		e := &s.ents[i]
		if e.small && s.cfg.skipSmall {
			continue
		}
		s.c.handSteps++
		if !s.passes(e) {
			s.hand = save
			return i
		}
	}
	return -1
}

func (s *fileSim) evictMain() bool {
	for range 8 * (s.entries + 1) {
		i := s.hand.next(s.ar)
		if i < 0 {
			return false
		}
		e := &s.ents[i]
		if e.small && s.cfg.skipSmall {
			continue
		}
		s.c.handSteps++
		if !s.passes(e) {
			s.evict(i, false)
			return true
		}
	}
	return false
}

// pageEvict sweeps the main hand page by page until an allocation of size
// bytes fits: on each page it evicts the entries at zero and spends one unit
// of the others; after forceAfter pages it empties the next page whole.
func (s *fileSim) pageEvict(size int) {
	for tries := 0; !s.ar.canAlloc(size) && s.entries > 0; tries++ {
		p := s.hand.nextPage(s.ar)
		s.c.pageRounds++
		s.scratch = s.ar.entriesOn(p, s.scratch[:0])
		force := tries >= forceAfter
		if force && len(s.scratch) > 0 {
			s.c.forcedPages++
		}
		for _, i := range s.scratch {
			s.c.handSteps++
			if force || !s.passes(&s.ents[i]) {
				s.evict(i, false)
			}
		}
	}
}

// evict removes entry i. fromSmall says the small FIFO evicts it (popped
// unused); others come from the main hand or a page sweep. What goes to the
// ghost is what the file can tell: the small FIFO's evictions; with an S bit
// also a small entry the hand evicts; without a small FIFO everything.
func (s *fileSim) evict(i int32, fromSmall bool) {
	e := &s.ents[i]
	s.ar.release(e.page, e.obj)
	if e.small && s.cfg.skipSmall {
		s.smallAlloc -= int64(e.alloc)
	}
	toGhost := fromSmall || s.cfg.small == 0 || e.small && s.cfg.skipSmall || s.cfg.ghostAll
	switch {
	case s.ghost != nil && toGhost:
		s.ghost.insert(e.key)
		s.c.ghostInserts++
	case s.mghost != nil:
		s.mghost.insert(e.key)
		s.c.ghostInserts++
	}
	delete(s.index, e.key)
	e.live = false
	s.entries--
	s.weight -= int64(e.weight)
	s.free = append(s.free, i)
	s.c.evictions++
}

func (s *fileSim) held() (int, int64) { return s.entries, s.weight }

func (s *fileSim) note() string { return s.c.String() }

func (s *fileSim) close() error { return nil }
