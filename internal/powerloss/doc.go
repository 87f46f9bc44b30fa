// Package powerloss simulates power losses under a writer process, in the
// style of CrashMonkey, ALICE and dm-log-writes but without a block layer.
//
// Record runs the writer in a child process under a seccomp filter that holds
// it at the entry of every durability system call (fdatasync, fsync, msync,
// sync_file_range, syncfs, sync) and every size change (ftruncate, fallocate)
// made on the watched file or its directory. At each held call the supervisor
// drains the writer's acknowledgements, copies the file and lets the call
// proceed. The result is a Trace: the file's content and length at the entry
// of every call, which calls made what durable, and which acknowledgements
// came before which call.
//
// The model of a power loss in gap n, after call n entered and before call
// n+1 entered (the writer is assumed to make its calls one at a time, as a
// writer with one goroutine does):
//
//   - each 4 KiB page holds one of the versions it had between the last
//     completed sync that covered it and the entry of call n+1; a page may
//     also be torn at a 512-byte sector boundary between two versions;
//   - the file length is one of the lengths it had between the last completed
//     fsync or fdatasync of the file and the entry of call n+1;
//   - the file's name is one of the bindings it had between the last
//     completed fsync of its directory (or sync, syncfs) and the entry of
//     call n+1: a file created in the run is missing after a power loss until
//     an fsync of the directory made its directory entry durable (POSIX; ext4
//     and xfs are kinder, the model is not);
//   - a completed fsync or fdatasync of the file makes its whole content and
//     length as of that call's entry durable; msync with MS_SYNC makes its
//     range durable; sync and syncfs make everything durable; sync_file_range,
//     ftruncate and fallocate make nothing durable.
//
// Trace.Images enumerates images of that state space for one gap: the file
// as it was at the entry of call n, as it was at the entry of call n+1, only
// what was durable, each changed page alone, each changed page left out, torn
// pages, other lengths and random combinations. Versions that existed only
// between two held calls are not seen; the model takes the last version
// before each held call.
//
// The filter is installed by a launcher role (Launch) on its own thread,
// which passes the notification descriptor to the supervisor over a unix
// socket and then execs the writer role, so that every thread of the writer
// inherits the filter. Where seccomp user notification is unavailable, Record
// returns an error wrapping ErrUnavailable that says why.
package powerloss
