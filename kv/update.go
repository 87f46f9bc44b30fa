//go:build unix

package kv

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
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
// write methods (Put, Delete, Update), Check, Snapshot or Close from inside fn
// would wait for the lock fn's Update holds; they detect this and return an
// error wrapping ErrInvalid instead of deadlocking. Get and ForEach on the DB
// are fine inside fn but do not see fn's uncommitted writes; tx.Get does.
func (db *DB) Update(fn func(tx *Tx) error) error {
	for round := 0; ; round++ {
		retry := false
		err := db.write("Update", func(t *txn) error {
			db.updater.Store(goid())
			defer db.updater.Store(0)
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

// insideUpdate reports whether the calling goroutine is running an Update's fn
// on this handle.
func (db *DB) insideUpdate() bool {
	id := db.updater.Load()
	return id != 0 && id == goid()
}

// goid returns the current goroutine's id. It is only called when an Update is
// running on this handle, to tell a re-entrant write from a concurrent one.
func goid() int64 {
	var buf [32]byte
	n := runtime.Stack(buf[:], false)
	s := string(buf[:n])
	const prefix = "goroutine "
	if len(s) <= len(prefix) {
		return -1
	}
	s = s[len(prefix):]
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	id, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return -1
	}
	return id
}

// Tx is the handle an Update's fn uses to read and write. It is valid only
// during fn and must not be used by other goroutines.
type Tx struct {
	t *txn
}

func (tx *Tx) live() error {
	if tx.t == nil {
		return fmt.Errorf("kv: Tx used after its Update returned: %w", ErrClosed)
	}
	return nil
}

// Get returns a copy of the value of key as the transaction sees it, including
// its own uncommitted writes, or ErrNotFound.
func (tx *Tx) Get(key []byte) ([]byte, error) {
	if err := tx.live(); err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return tx.t.get(key, nowMillis)
}

// Put stores value under key within the transaction. If it fails (ErrFull,
// say), the transaction is as it was before the call and fn may go on.
func (tx *Tx) Put(key, value []byte) error {
	if err := tx.live(); err != nil {
		return err
	}
	if err := checkPut(key, value); err != nil {
		return err
	}
	sp := tx.t.savepoint()
	if err := tx.t.put(key, value, 0, 0); err != nil {
		tx.t.rollback(sp)
		tx.t.short = tx.t.short || errors.Is(err, ErrFull)
		return err
	}
	return nil
}

// Delete removes key within the transaction; an absent key is not an error.
func (tx *Tx) Delete(key []byte) error {
	if err := tx.live(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	tx.t.del(key)
	return nil
}

func nowMillis() int64 { return time.Now().UnixMilli() }
