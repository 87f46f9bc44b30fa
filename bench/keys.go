package main

import (
	"encoding/binary"
	"math/rand/v2"
)

const (
	keySize   = 16
	valueSize = 100
	// missBase offsets the indexes of keys that are never stored.
	missBase = 1 << 48
)

// mix is splitmix64's finaliser: a bijection, so distinct indexes give
// distinct keys.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// keyFor writes the 16-byte key of index i into b and returns it. Keys
// look random, so no store is helped by sorted input.
func keyFor(b []byte, i uint64) []byte {
	b = b[:keySize]
	binary.BigEndian.PutUint64(b[0:8], mix(i))
	binary.BigEndian.PutUint64(b[8:16], i)
	return b
}

// values hands out 100-byte values that differ per index and version
// without generating bytes per operation: a window into a random pool.
type values struct{ pool []byte }

func newValues(seed uint64) *values {
	r := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	p := make([]byte, 1<<16)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return &values{pool: p}
}

// at returns the value of index i at version v. Callers must not modify it.
func (vs *values) at(i, v uint64) []byte {
	off := mix(i*31+v) % uint64(len(vs.pool)-valueSize)
	return vs.pool[off : off+valueSize : off+valueSize]
}

// newRand returns the generator of one workload; the seeds are fixed so
// every run and every store sees the same sequence.
func newRand(workload uint64) *rand.Rand {
	return rand.New(rand.NewPCG(0x6d61706b76, workload))
}
