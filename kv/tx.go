//go:build unix

package kv

import (
	"errors"
	"fmt"
	"time"
)

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
