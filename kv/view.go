//go:build unix

package kv

import (
	"bytes"
	"fmt"
	"iter"
	"runtime"
	"runtime/debug"
	"time"
)

// ReadTx is a consistent view of the store as of one commit, valid during the
// fn of a View. Its reads never see half of an Update: either all of its
// writes or none. It must not be used by other goroutines or after fn returns.
type ReadTx struct {
	db     *DB
	live   bool
	locked bool // this run holds the writer lock
}

// viewAttempts is how many times View runs fn optimistically, without any
// lock, before it holds the writer lock for one pass.
const viewAttempts = 4

// View runs fn with a consistent view of the store: every read through tx
// sees the state after one commit and before the next, like a read
// transaction of LMDB or bbolt's View. It takes no lock in the common case:
// fn runs, and View then checks that no commit was applied meanwhile; if one
// was, fn runs again. After a few such retries (a writer committing without
// pause), View holds the writer lock for one last run, during which writers
// in every process wait. So fn may run more than once and must have no
// effect beyond what it reads; only its last run's error is returned. fn
// should not write through the DB: a write would not be seen by tx, would
// force a retry, and in the locked run returns ErrInvalid, since it would
// wait for the lock that run holds (as from an Update's fn).
//
// View returns fn's error, ErrClosed on a closed DB, ErrLocked when its last
// run cannot take the writer lock within Options.LockTimeout, and ErrBusy on
// a read-only handle when a killed writer's commit is still unfinished (a
// read-write handle finishes it).
func (db *DB) View(fn func(tx *ReadTx) error) error {
	if db.closed.Load() {
		return ErrClosed
	}
	for attempt := 0; attempt < viewAttempts; attempt++ {
		seq, ok := db.quiet()
		if !ok {
			continue
		}
		tx := &ReadTx{db: db, live: true}
		err := fn(tx)
		tx.live = false
		loadFence()
		if now, ok := db.quiet(); ok && now == seq {
			return err
		}
		db.viewRetries.Add(1)
	}
	return db.viewLocked(fn)
}

// quiet reports the last applied commit if none is being applied now. While
// one is, it waits a little for it to end; a writer that died mid-apply
// leaves it open until a writer repairs it, and then quiet gives up.
func (db *DB) quiet() (uint64, bool) {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed.Load() {
		return 0, false
	}
	m := db.f.m.Load()
	for spin := 0; spin < 64; spin++ {
		applied := m.load(hdrApplied)
		if m.load(hdrApplying) == applied {
			return applied, true
		}
		runtime.Gosched()
	}
	return 0, false
}

// viewLocked runs fn once while holding the writer lock, so that no commit
// can land during it.
func (db *DB) viewLocked(fn func(tx *ReadTx) error) (err error) {
	if err := db.lockWriter(); err != nil {
		return err
	}
	defer db.unlockWriter()
	if err := func() (err error) {
		defer db.catchFault(&err, debug.SetPanicOnFault(true))
		if !db.readOnly {
			_, err = db.recoverPending()
			return err
		}
		if db.pendingRepair() {
			return fmt.Errorf("kv: View on %s: a killed writer's commit is unfinished and this handle is read-only; any read-write handle finishes it: %w", db.f.path, ErrBusy)
		}
		return nil
	}(); err != nil {
		return err
	}
	db.viewLocks.Add(1)
	tx := &ReadTx{db: db, live: true, locked: true}
	defer func() { tx.live = false }()
	db.enterFn() // a write from fn is refused, not a deadlock (reentry.go)
	defer db.leaveFn()
	return fn(tx)
}

func (tx *ReadTx) check() error {
	if tx == nil || !tx.live {
		return fmt.Errorf("kv: ReadTx used after its View returned: %w", ErrClosed)
	}
	return nil
}

// Get returns a copy of the value of key as of the view's commit, or
// ErrNotFound. It returns the errors of DB.Get, and ErrClosed after fn's View
// has returned.
func (tx *ReadTx) Get(key []byte) ([]byte, error) {
	if err := tx.check(); err != nil {
		return nil, err
	}
	return tx.db.Get(key)
}

// AppendGet appends the value of key as of the view's commit to dst, like
// DB.AppendGet, with the errors of Get.
func (tx *ReadTx) AppendGet(dst, key []byte) ([]byte, error) {
	if err := tx.check(); err != nil {
		return dst, err
	}
	return tx.db.AppendGet(dst, key)
}

// TTL returns how long key has left to live as of the view's commit, like
// DB.TTL, with the errors of Get.
func (tx *ReadTx) TTL(key []byte) (time.Duration, error) {
	if err := tx.check(); err != nil {
		return 0, err
	}
	return tx.db.TTL(key)
}

// ForEach calls fn for every live key and value as of the view's commit, like
// DB.ForEach; the iteration as a whole is consistent. It returns ErrClosed
// after fn's View has returned, and otherwise what DB.ForEach returns.
func (tx *ReadTx) ForEach(fn func(key, value []byte) error) error {
	if err := tx.check(); err != nil {
		return err
	}
	return tx.db.ForEach(fn)
}

// All is DB.All as of the view's commit: the pairs a range over it yields
// are all from that one commit. Ranged after fn's View has returned, it
// yields nothing and errf returns ErrClosed.
func (tx *ReadTx) All() (pairs iter.Seq2[[]byte, []byte], errf func() error) {
	return tx.db.pairs(nil, tx.check)
}

// Prefix is DB.Prefix as of the view's commit, like All.
func (tx *ReadTx) Prefix(prefix []byte) (pairs iter.Seq2[[]byte, []byte], errf func() error) {
	return tx.db.pairs(bytes.Clone(prefix), tx.check)
}
