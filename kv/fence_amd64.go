package kv

// loadFence orders a reader's copy of a record before the loads that
// re-validate it. On amd64 loads are not reordered with other loads (TSO),
// so nothing is needed; the call is a compiler barrier all the same.
//
//go:noinline
func loadFence() {}
