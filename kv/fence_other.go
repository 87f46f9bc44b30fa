//go:build !amd64

package kv

import "sync/atomic"

// loadFence orders a reader's copy of a record (plain loads) before the
// atomic loads that re-validate it. A load-acquire alone does not keep
// earlier plain loads from being performed after it on weakly ordered CPUs
// (arm64, ppc64, riscv64); an atomic read-modify-write is a full barrier on
// every architecture Go supports (on arm64 its store-release is ordered
// before the later load-acquire). It works on a word of the caller's own
// stack, so that readers on different CPUs share no cache line.
//
//go:noinline
func loadFence() {
	var w uint32
	atomic.AddUint32(&w, 1)
}
