// Package kv is a key-value store in one memory-mapped file that any number of
// unrelated processes open at once, with no server. A write by one process is
// visible to every other process as soon as the write returns.
//
// # Concurrency contract
//
//   - A *DB is safe for concurrent use by many goroutines. Opening the same
//     file twice in one process gives two handles that behave like two
//     processes.
//   - Readers (Get, AppendGet, TTL, View, ForEach, Stats, Watch) take no lock,
//     make no system call on the common path and never wait for a writer, not
//     even one killed in the middle of a write. They validate what they copy
//     out of the shared mapping and look again when a writer changed it.
//   - Get is linearizable: it returns the value its key had at some instant
//     between its call and its return; never a torn value, never a value that
//     no write committed, never a miss for a key that was present throughout.
//     An Update is atomic to readers: they see all of its writes or none.
//     View reads several keys as of one commit. A reader that keeps being
//     overtaken by writers gives up with ErrBusy.
//   - Writers (Put, Delete, Update, the cache operations) are serialised
//     across processes by flock on the file and within a process by a mutex.
//     The kernel releases a dead writer's flock at once, and the next writer
//     (or read-write Open) finishes a write the dead one had committed, so a
//     killed process never corrupts the file nor loses a write that returned.
//   - Without Options.Sync a returned write survives the death of any process
//     (it is in the page cache) but not a power loss; DB.Sync makes every
//     write before it durable. With Options.Sync a write is on disk when it
//     returns, at the cost of one fdatasync that concurrent writers of a
//     handle share, and a power loss at any instant leaves a file that the
//     next read-write Open repairs to hold every write that returned, provided
//     every handle writing the file uses Sync.
//   - The file grows while in use; every process follows the growth without
//     reopening. A file truncated under a running process yields ErrCorrupt,
//     never a crash.
//   - Every byte read from the file is untrusted: a damaged, foreign or
//     other-version file yields ErrCorrupt, never a panic or a hang.
//
// docs/concurrency.md specifies the protocol step by step, with the argument
// for each of these properties, and docs/format.md the file layout; both are
// normative. flock does not work reliably on network file systems: keep the
// file on a local disk or on tmpfs (/dev/shm for a RAM-only cache).
package kv
