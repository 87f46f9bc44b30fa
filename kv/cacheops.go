//go:build unix

package kv

import (
	"bytes"
	"fmt"
	"time"
)

// The bodies of the cache operations, one each, run by the DB's methods as
// a transaction of their own (cache.go) and by Tx's inside an Update. Each
// reads the key as the transaction sees it (lookupLive: an expired key or a
// GetOrCompute lease is absent) and either writes or leaves the transaction
// as it was; the callers roll back to a savepoint on an error.

// expiryKeeping is the expiry a write with ttl gives a key whose state is c:
// with KeepTTL, a live key's own; otherwise expiryFor's (KeepTTL, being
// negative, then means none).
func expiryKeeping(ttl time.Duration, c keyState) (uint16, int64) {
	if ttl == KeepTTL && c.exists {
		return c.meta.flags & recExpires, c.meta.expiry
	}
	return expiryFor(ttl)
}

// putTTL stores key=value with ttl.
func (t *txn) putTTL(key, value []byte, ttl time.Duration) error {
	var c keyState
	if ttl == KeepTTL {
		c = t.lookupLive(key)
	}
	flags, at := expiryKeeping(ttl, c)
	return t.put(key, value, flags, at)
}

// expire gives a live key the expiry of ttl, keeping its value.
func (t *txn) expire(key []byte, ttl time.Duration) error {
	c := t.lookupLive(key)
	if !c.exists {
		return fmt.Errorf("kv: Expire: %w", ErrNotFound)
	}
	if ttl == KeepTTL {
		return nil
	}
	flags, at := expiryFor(ttl)
	return t.put(key, bytes.Clone(c.value), flags, at) // c.value is in the file: copy it before writing
}

// add adds delta to key's 8-byte counter, which keeps its expiry; a key it
// creates gets ttl's.
func (t *txn) add(key []byte, delta int64, ttl time.Duration) (int64, error) {
	c := t.lookupLive(key)
	var n int64
	flags, at := expiryFor(ttl)
	if c.exists {
		if len(c.value) != 8 {
			return 0, fmt.Errorf("kv: Add: the value of %q is %d bytes, not an 8-byte integer: %w", key, len(c.value), ErrInvalid)
		}
		n = int64(le.Uint64(c.value))
		flags, at = c.meta.flags&recExpires, c.meta.expiry
	}
	n += delta
	if err := t.put(key, le.AppendUint64(nil, uint64(n)), flags, at); err != nil {
		return 0, err
	}
	return n, nil
}

// compareAndSwap stores new with ttl if key holds old (nil: is absent).
func (t *txn) compareAndSwap(key, old, new []byte, ttl time.Duration) (bool, error) {
	c := t.lookupLive(key)
	if old == nil && c.exists || old != nil && (!c.exists || !bytes.Equal(c.value, old)) {
		return false, nil
	}
	flags, at := expiryKeeping(ttl, c)
	if err := t.put(key, new, flags, at); err != nil {
		return false, err
	}
	return true, nil
}

// putIf stores key=value with ttl if the key's presence is present.
func (t *txn) putIf(key, value []byte, ttl time.Duration, present bool) (bool, error) {
	c := t.lookupLive(key)
	if c.exists != present {
		return false, nil
	}
	flags, at := expiryKeeping(ttl, c)
	if err := t.put(key, value, flags, at); err != nil {
		return false, err
	}
	return true, nil
}
