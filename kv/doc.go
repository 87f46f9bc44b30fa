// Package kv is a key-value store in one memory-mapped file that any number of
// unrelated processes open at once, with no server. A write by one process is
// visible to every other process as soon as the write returns.
//
// # Concurrency contract
//
//   - A *DB is safe for concurrent use by many goroutines. Opening the same
//     file twice in one process gives two handles that behave like two
//     processes.
//   - Readers (Get, AppendGet, TTL, View, ForEach, All, Prefix, Stats, Watch)
//     take no lock, make no system call on the common path and never wait for
//     a writer, not even one killed in the middle of a write. They validate
//     what they copy out of the shared mapping and look again when a writer
//     changed it.
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
// # Reading many keys
//
// ForEach, and All and Prefix for a range loop, walk the store as a live
// view: each key present and unchanged throughout is seen exactly once, in
// no particular order. For a consistent view of several keys (all of an
// Update or none of it), read them through View's ReadTx, which has the same
// methods. All returns the error that ended the loop through a function
// returned beside the iteration:
//
//	pairs, errf := db.Prefix([]byte("user:"))
//	for k, v := range pairs {
//		fmt.Printf("%s=%s\n", k, v) // k and v are valid until the next step
//	}
//	if err := errf(); err != nil {
//		return err
//	}
//
// # TTLs
//
// A ttl > 0 makes a key expire ttl after the write, for every process at
// once; ttl <= 0 means never; KeepTTL keeps a present key's expiry. A write
// that stores a value the caller gives (Put, PutTTL, PutIfAbsent, Replace,
// CompareAndSwap, GetOrCompute) gives the key that call's TTL, replacing the
// one it had, as memcached's and ngx.shared.DICT's set, add, replace (and
// memcached's cas) do; Add and AddTTL change a counter in place and keep an
// existing key's TTL, like Redis's INCR; a key AddTTL creates gets its ttl.
// Tx's methods of the same names follow the same rule, all or nothing within
// their Update. docs/cache.md has the details and the mapping from APCu,
// ngx.shared.DICT, memcached and Redis.
//
// # Errors
//
// Every error this package returns for one of the conditions its sentinel
// errors name wraps that sentinel (test with errors.Is), and each method's
// documentation lists the ones it returns. Calling a method that takes the
// writer lock (any write, Update, Check, Snapshot, WriteTo, Close) from
// inside an Update's fn on the same DB would deadlock; it returns ErrInvalid
// instead. Use the fn's Tx.
//
// docs/concurrency.md specifies the protocol step by step, with the argument
// for each of these properties, and docs/format.md the file layout; both are
// normative. flock does not work reliably on network file systems: keep the
// file on a local disk or on tmpfs (/dev/shm for a RAM-only cache).
package kv
