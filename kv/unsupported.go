//go:build !unix

package kv

// Package kv needs a shared memory mapping of a file and flock(2), which WASI,
// js/wasm and Windows do not offer. The identifier below is undefined on
// purpose so that the build fails with a message that names the reason.
var _ = kv_needs_unix_mmap_and_flock_which_this_GOOS_does_not_have
