//go:build unix

package kv

import (
	"errors"
	"fmt"
	"time"
)

// Update runs fn holding the writer lock, so that fn's reads and writes
// through tx are serialised with every other writer in every process. If fn
// returns nil, all of its writes are committed together: a crash at any point
// leaves all or none of them. If fn returns an error, none are applied and
// Update returns that error as it is.
//
// fn runs once, except in a cache (Options.Evict) whose file is full: when a
// write of fn's finds no room (it returns an error wrapping ErrFull to fn),
// Update discards the whole transaction, evicts, and runs fn again, as often
// as it takes; so in a cache fn must have no effect outside tx.
//
// Readers do not wait for Update; each key they read is either before or after
// the whole Update, and View sees all of it or none. Calling the DB's own
// write methods (Put, Delete, Update, the cache operations), Check,
// Snapshot, WriteTo or Close from inside fn would wait for the lock fn's
// Update holds; they detect this and return an error wrapping ErrInvalid
// instead of deadlocking (on Linux fn's goroutine stays on its OS thread
// while fn runs, which is how they tell: reentry.go). Get, ForEach, All and
// View on the DB are fine inside fn but do not see fn's uncommitted writes;
// tx.Get does.
//
// Update returns fn's error as it is; otherwise ErrReadOnly, ErrClosed,
// ErrLocked when the writer lock is not free within Options.LockTimeout,
// ErrInvalid when called inside another Update's fn on this DB, ErrFull when
// the commit itself finds no room (a file at MaxSize that does not evict),
// and ErrCorrupt.
func (db *DB) Update(fn func(tx *Tx) error) error {
	for round := 0; ; round++ {
		retry := false
		err := db.write("Update", func(t *txn) error {
			db.enterFn() // so that re-entry is detected (reentry.go)
			defer db.leaveFn()
			tx := &Tx{t: t}
			defer func() { tx.t = nil }()
			err := fn(tx)
			if t.keys > 1 {
				// Readers see all of an Update or none of it: they answer
				// from its log while it is applied.
				t.window = true
			}
			if db.evict && t.short && round < evictRounds {
				// Discard it all: evict, then run fn again.
				retry = true
				return &noRoom{pages: max(t.needPages, 1), err: errNoRoom}
			}
			return err
		})
		if !db.evict || round == evictRounds || !retry && !errors.Is(err, ErrFull) {
			return err
		}
		if _, eerr := db.evictSome(round, err); eerr != nil {
			return eerr
		}
	}
}

// Tx is the handle an Update's fn uses to read and write. It is valid only
// during fn and must not be used by other goroutines. Each write method is
// all or nothing: if it returns an error (ErrFull, say), the transaction is
// as it was before the call and fn may go on. After its Update has returned,
// every method returns ErrClosed.
type Tx struct {
	t *txn
}

func (tx *Tx) live() error {
	if tx.t == nil {
		return fmt.Errorf("kv: Tx used after its Update returned: %w", ErrClosed)
	}
	return nil
}

// run runs one write operation of the transaction all or nothing; argErr is
// the verdict on its arguments, given after the check that tx is live.
func (tx *Tx) run(argErr error, op func(t *txn) error) error {
	if err := tx.live(); err != nil {
		return err
	}
	if argErr != nil {
		return argErr
	}
	sp := tx.t.savepoint()
	if err := op(tx.t); err != nil {
		tx.t.rollback(sp)
		tx.t.short = tx.t.short || errors.Is(err, ErrFull) // a cache evicts, then runs fn again
		return err
	}
	return nil
}

// Get returns a copy of the value of key as the transaction sees it, including
// its own uncommitted writes, or ErrNotFound. It returns ErrInvalid or
// ErrTooLarge for a bad key and ErrClosed after the Update returned.
func (tx *Tx) Get(key []byte) ([]byte, error) {
	if err := tx.live(); err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return tx.t.get(key, nowMillis)
}

// Put stores value under key within the transaction, with no TTL. It returns
// ErrInvalid for an empty key, ErrTooLarge, ErrFull when the file has no room
// (in a cache, Update then evicts and runs fn again), ErrClosed after the
// Update returned; the transaction is then as it was before the call.
func (tx *Tx) Put(key, value []byte) error {
	return tx.run(checkPut(key, value), func(t *txn) error { return t.put(key, value, 0, 0) })
}

// Delete removes key within the transaction; an absent key is not an error.
// It returns ErrInvalid or ErrTooLarge for a bad key and ErrClosed after the
// Update returned.
func (tx *Tx) Delete(key []byte) error {
	return tx.run(checkKey(key), func(t *txn) error { t.del(key); return nil })
}

func nowMillis() int64 { return time.Now().UnixMilli() }
