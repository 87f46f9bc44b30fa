package main

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Traces for the hit-ratio comparison (hitratio.go). A trace is the sequence
// of key ids a read-through cache is asked for: each request is a Get, and a
// miss is followed by a Put of the key. Traces are generated from fixed seeds
// (nothing is stored), so every cache sees the same requests in the same
// order, and the same trace serves both capacity modes: only the sizes of
// the values and the unit of the capacity differ.

// trace is one generated request sequence.
type trace struct {
	name string
	what string   // one line for the report
	keys []uint64 // key ids, in request order
	warm int      // requests replayed before hits are counted
}

// traceSet says how large the traces are: capacity is the cache's size in
// entries that every trace is scaled to.
type traceSet struct {
	capacity int
	requests int // per trace, warm-up included
	warm     int
}

// traceNames lists the traces in report order.
var traceNames = []string{"zipf-0.6", "zipf-0.8", "zipf-0.99", "zipf+scan", "loop-1.1x", "shift"}

// Key-id ranges: each trace draws from its own so that no two share keys.
const (
	scanBase  = 1 << 40 // one-pass scan keys
	shiftBase = 1 << 41 // the shifting working sets
)

// keySpaceFactor is the Zipf key space as a multiple of the capacity.
const keySpaceFactor = 50

func (ts traceSet) build(name string) *trace {
	c := ts.capacity
	n := ts.requests
	r := rand.New(rand.NewPCG(0x6869747261746530, uint64(slices.Index(traceNames, name)+1)))
	tr := &trace{name: name, warm: ts.warm, keys: make([]uint64, n)}
	switch name {
	case "zipf-0.6", "zipf-0.8", "zipf-0.99":
		s := map[string]float64{"zipf-0.6": 0.6, "zipf-0.8": 0.8, "zipf-0.99": 0.99}[name]
		z := newZipf(r, keySpaceFactor*c, s)
		for i := range tr.keys {
			tr.keys[i] = z.next()
		}
		tr.what = "Zipf over a key space 50x the cache"
	case "zipf+scan":
		// Zipf(0.99) over 50x the cache; every 10x the cache's worth of
		// requests, a one-pass scan of 5x the cache's entries in fresh keys,
		// interleaved one to one with the Zipf requests.
		z := newZipf(r, keySpaceFactor*c, 0.99)
		scan := uint64(scanBase)
		period := 10 * c
		scanLen := 5 * c
		for i := 0; i < n; {
			for j := 0; j < period && i < n; j++ {
				tr.keys[i] = z.next()
				i++
			}
			for j := 0; j < scanLen && i < n; j++ {
				tr.keys[i] = scan
				scan++
				i++
				if i < n {
					tr.keys[i] = z.next()
					i++
				}
			}
		}
		tr.what = "Zipf(0.99) over 50x the cache; every 10x requests, a one-pass scan of 5x the cache's entries, interleaved 1:1"
	case "loop-1.1x":
		l := uint64(c + c/10)
		for i := range tr.keys {
			tr.keys[i] = uint64(i) % l
		}
		tr.what = "keys 0..1.1x the cache's entries, in order, repeated"
	case "shift":
		// Zipf(0.9) over a hot set of 4x the cache that moves to entirely
		// new keys every 10x the cache's worth of requests.
		h := 4 * c
		z := newZipf(r, h, 0.9)
		period := 10 * c
		for i := range tr.keys {
			tr.keys[i] = shiftBase + uint64(i/period*h) + z.next()
		}
		tr.what = "Zipf(0.9) over a hot set of 4x the cache that moves to new keys every 10x requests"
	default:
		panic("unknown trace " + name)
	}
	return tr
}

// zipf draws ranks 0..n-1 with P(k) proportional to 1/(k+1)^s, for any s > 0
// (math/rand/v2's Zipf needs s > 1): a precomputed CDF and a binary search.
type zipf struct {
	cdf []float64
	r   *rand.Rand
}

func newZipf(r *rand.Rand, n int, s float64) *zipf {
	cdf := make([]float64, n)
	sum := 0.0
	for k := range cdf {
		sum += 1 / math.Pow(float64(k+1), s)
		cdf[k] = sum
	}
	for k := range cdf {
		cdf[k] /= sum
	}
	return &zipf{cdf: cdf, r: r}
}

func (z *zipf) next() uint64 {
	k, _ := slices.BinarySearch(z.cdf, z.r.Float64())
	return uint64(min(k, len(z.cdf)-1))
}

// Value sizes. In entries mode every value is fixedValue bytes; in bytes mode
// a key's value size is a function of its id: 60% log-uniform in [16, 256),
// 30% in [256, 2048), 10% in [2048, 16384), so that records span the slab
// classes and chains of several pages.
const fixedValue = 100

func variedValue(id uint64) int {
	h := mix(id ^ 0x73697a6573)
	u := float64(h>>11) / (1 << 53)
	lo, hi := 16.0, 256.0
	switch band := h & 1023; {
	case band < 614:
	case band < 921:
		lo, hi = 256, 2048
	default:
		lo, hi = 2048, 16384
	}
	return int(lo * math.Pow(hi/lo, u))
}

// payload is the bytes a cache entry is charged for in bytes mode: key and
// value.
func payload(id uint64, bytesMode bool) int {
	if !bytesMode {
		return keySize + fixedValue
	}
	return keySize + variedValue(id)
}

// meanVaried is the mean payload of the varied sizes, measured over n ids.
func meanVaried(n int) float64 {
	var sum float64
	for i := 0; i < n; i++ {
		sum += float64(payload(uint64(i), true))
	}
	return sum / float64(n)
}
