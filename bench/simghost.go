package main

// simGhost is a ghost list as a file could hold it: the fingerprints of
// recently evicted keys in a fixed table of 32-bit words, with no pointers and
// no list to maintain. A key hashes to a bucket of 8 words (32 bytes); a word
// is a 20-bit fingerprint and the 12-bit epoch it was inserted in; the table
// has twice as many words as evictions it remembers. The epoch
// advances every capacity/64 insertions, and a word older than 64 epochs is
// dead, so the table answers "evicted within about the last capacity
// evictions" (a FIFO of that length, to within one epoch), with no sweep to
// age it. An insertion overwrites a dead word of its bucket, else the oldest:
// one word written, one log entry. A lookup reads one bucket and writes
// nothing. A false hit needs a 20-bit match among 8 words (< 1e-5).
type simGhost struct {
	words    []uint32
	mask     uint64 // buckets - 1
	inserts  uint64
	perEpoch uint64
}

const (
	ghostWays   = 8
	ghostWindow = 64 // epochs a word lives
)

// newSimGhost returns a ghost that remembers about capacity evictions.
func newSimGhost(capacity int) *simGhost {
	// Twice the words it must remember: a bucket of 8 at half load
	// rarely overflows within the window (at full load a quarter of the
	// buckets would, and the ghost would forget ~15% early). Buckets are a
	// power of two; the epoch length makes the window capacity insertions
	// whatever the rounding.
	b := uint64(1)
	for b*ghostWays < 2*uint64(capacity) {
		b <<= 1
	}
	return &simGhost{
		words:    make([]uint32, b*ghostWays),
		mask:     b - 1,
		perEpoch: max(uint64(capacity)/ghostWindow, 1),
	}
}

func ghostHash(key uint64) uint64 { return mix(key ^ 0x67686f7374) }

func (g *simGhost) epoch() uint32 { return uint32(g.inserts/g.perEpoch) & 0xfff }

// bucket returns the key's bucket and fingerprint.
func (g *simGhost) bucket(key uint64) ([]uint32, uint32) {
	h := ghostHash(key)
	b := h & g.mask
	return g.words[b*ghostWays : b*ghostWays+ghostWays], uint32(h>>44) | 1 // 20 bits, never 0
}

func (g *simGhost) age(w uint32) uint32 { return (g.epoch() - w) & 0xfff }

// insert records key as just evicted.
func (g *simGhost) insert(key uint64) {
	bk, fp := g.bucket(key)
	victim, oldest := 0, uint32(0)
	for i, w := range bk {
		if w == 0 || g.age(w) >= ghostWindow {
			victim = i
			break
		}
		if a := g.age(w); a >= oldest {
			victim, oldest = i, a
		}
	}
	bk[victim] = fp<<12 | g.epoch()
	g.inserts++
}

// contains reports whether key was evicted within the window.
func (g *simGhost) contains(key uint64) bool {
	bk, fp := g.bucket(key)
	for _, w := range bk {
		if w != 0 && w>>12 == fp && g.age(w) < ghostWindow {
			return true
		}
	}
	return false
}

// simSketch is a count-min sketch of misses as writers alone could keep it:
// 4-bit counters, sixteen to a 64-bit word, and all four counters of a key in
// one word (so an increment is one word written, one log entry). A key's
// frequency is the least of its four. Every sample increments it halves
// every counter (aging, as in TinyLFU); a file would halve a few words per
// write with a cursor instead of all at once.
type simSketch struct {
	words   []uint64
	mask    uint64
	adds    int
	sample  int
	halved  int // words rewritten by aging
	written int // words rewritten by increments
}

func newSimSketch(capacity int) *simSketch {
	n := uint64(1)
	for n*16 < uint64(8*capacity) { // 8 counters per cached entry
		n <<= 1
	}
	return &simSketch{words: make([]uint64, n), mask: n - 1, sample: 10 * capacity}
}

func (s *simSketch) slots(key uint64) (uint64, [4]uint) {
	h := mix(key ^ 0x736b65746368)
	var pos [4]uint
	for i := range pos {
		pos[i] = uint(h>>(32+4*i)) & 15
	}
	return h & s.mask, pos
}

func (s *simSketch) freq(key uint64) int {
	w, pos := s.slots(key)
	f := 15
	for _, p := range pos {
		f = min(f, int(s.words[w]>>(4*p)&15))
	}
	return f
}

func (s *simSketch) add(key uint64) {
	w, pos := s.slots(key)
	old := s.words[w]
	for _, p := range pos {
		if s.words[w]>>(4*p)&15 < 15 {
			s.words[w] += 1 << (4 * p)
		}
	}
	if s.words[w] != old {
		s.written++
	}
	if s.adds++; s.adds >= s.sample {
		s.adds = 0
		for i, v := range s.words {
			s.words[i] = v >> 1 & 0x7777777777777777
			s.halved++
		}
	}
}
