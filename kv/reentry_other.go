//go:build unix && !linux

package kv

// enterFn marks the calling goroutine as the one running an Update's fn on
// db, until it calls leaveFn (reentry.go).
func (db *DB) enterFn() { db.updater.Store(goidFromStack()) }

// leaveFn ends enterFn's mark.
func (db *DB) leaveFn() { db.updater.Store(0) }

// isUpdater reports whether the caller is the goroutine enterFn marked.
func (db *DB) isUpdater() bool { return goidFromStack() == db.updater.Load() }
