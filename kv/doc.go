// Package kv is a key-value store in one memory-mapped file that any number of
// unrelated processes open at once, with no server. A write by one process is
// visible to every other process as soon as the write returns.
//
// # Concurrency contract
//
//   - A *DB is safe for concurrent use by many goroutines. Opening the same
//     file twice in one process gives two handles that behave like two
//     processes.
//   - Readers (Get, AppendGet, ForEach, Stats) take no lock, make no system
//     call on the common path and never wait for a writer. They validate what
//     they copy out of the shared mapping and retry when a writer changed it,
//     so they never return a torn value or a value that was never committed.
//   - Writers (Put, Delete, Update) are serialised across processes by flock
//     on the file and within a process by a mutex. The kernel releases a dead
//     writer's flock at once; the next writer finishes a write the dead one
//     had committed (its redo log) before doing its own, so a crash at any
//     instant never corrupts the file and never loses a write whose call had
//     returned.
//   - Without Options.Sync a returned write survives the death of any process
//     (it is in the page cache) but not a power loss; with Sync it is on disk.
//   - The file grows while in use; every process follows the growth without
//     reopening. A file truncated under a running process yields ErrCorrupt,
//     never a crash.
//   - Every byte read from the file is treated as untrusted: a damaged,
//     foreign or newer-format file yields ErrCorrupt, never a panic.
//
// docs/concurrency.md states the protocol step by step and docs/format.md the
// file layout. flock does not work reliably on network file systems: keep the
// file on a local disk or on tmpfs (/dev/shm for a RAM-only cache).
package kv
