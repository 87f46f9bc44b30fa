//go:build unix

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Cache operations: expiring entries and atomic read-modify-write steps. Each
// runs as one transaction under the writer lock, so it is atomic across
// processes. docs/cache.md maps them to APCu and ngx.shared.DICT.

// NoTTL is what TTL returns for a key that never expires.
const NoTTL time.Duration = -1

// PutTTL stores value under key, to expire after ttl (millisecond resolution);
// ttl <= 0 means never. Like Put, it replaces the key's value and TTL.
func (db *DB) PutTTL(key, value []byte, ttl time.Duration) error {
	if err := checkPut(key, value); err != nil {
		return err
	}
	flags, at := expiryFor(ttl)
	return db.writeEvicting("PutTTL", func(t *txn) error { return t.put(key, value, flags, at) })
}

// TTL returns how long key has left to live, NoTTL if it never expires, or
// ErrNotFound if it is absent or expired. Like Get, it takes no lock.
func (db *DB) TTL(key []byte) (time.Duration, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	var info readInfo
	var buf [64]byte
	if _, err := db.getInfo(buf[:0], key, &info); err != nil {
		return 0, err
	}
	if info.flags&recExpires == 0 {
		return NoTTL, nil
	}
	return max(time.Duration(info.expiry-nowMillis())*time.Millisecond, time.Millisecond), nil
}

// getInfo is AppendGet that also reports the record's details.
func (db *DB) getInfo(dst, key []byte, info *readInfo) (out []byte, err error) {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed.Load() {
		return dst, ErrClosed
	}
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	return db.lookup(dst, key, info)
}

// Expire sets key to expire after ttl; ttl <= 0 removes its expiry. It returns
// ErrNotFound if the key is absent or already expired.
func (db *DB) Expire(key []byte, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	flags, at := expiryFor(ttl)
	return db.writeEvicting("Expire", func(t *txn) error {
		c := t.lookupLive(key)
		if !c.exists {
			return fmt.Errorf("kv: Expire: %w", ErrNotFound)
		}
		return t.put(key, bytes.Clone(c.value), flags, at)
	})
}

// Add adds delta to the 8-byte little-endian integer stored under key and
// returns the result; an absent key counts as 0. It wraps on overflow like
// sync/atomic.AddInt64 and keeps the key's TTL. A value that is not 8 bytes
// is ErrInvalid, and nothing changes.
func (db *DB) Add(key []byte, delta int64) (int64, error) {
	return db.AddTTL(key, delta, 0)
}

// AddTTL is Add, with ttl applied when the key is created by this call (like
// ngx.shared.DICT's incr with init_ttl); an existing key keeps its TTL.
func (db *DB) AddTTL(key []byte, delta int64, ttl time.Duration) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	var n int64
	err := db.writeEvicting("Add", func(t *txn) error {
		n = 0
		c := t.lookupLive(key)
		flags, at := expiryFor(ttl)
		if c.exists {
			if len(c.value) != 8 {
				return fmt.Errorf("kv: Add: the value of %q is %d bytes, not an 8-byte integer: %w", key, len(c.value), ErrInvalid)
			}
			n = int64(le.Uint64(c.value))
			flags, at = c.meta.flags&recExpires, c.meta.expiry
		}
		n += delta
		return t.put(key, le.AppendUint64(nil, uint64(n)), flags, at)
	})
	return n, err
}

// CompareAndSwap stores new under key if its current value equals old, and
// reports whether it did. old == nil means "only if absent"; a non-nil empty
// old means "present with an empty value"; new == nil stores an empty value.
// A swap keeps the key's TTL; a key created by it has none.
func (db *DB) CompareAndSwap(key, old, new []byte) (bool, error) {
	if err := checkPut(key, new); err != nil {
		return false, err
	}
	swapped := false
	err := db.writeEvicting("CompareAndSwap", func(t *txn) error {
		swapped = false
		c := t.lookupLive(key)
		switch {
		case old == nil && c.exists, old != nil && (!c.exists || !bytes.Equal(c.value, old)):
			return nil
		}
		var flags uint16
		var at int64
		if c.exists {
			flags, at = c.meta.flags&recExpires, c.meta.expiry
		}
		swapped = true
		return t.put(key, new, flags, at)
	})
	return swapped, err
}

// PutIfAbsent stores value under key with ttl (<= 0: never expires) only if
// the key is absent or expired, and reports whether it did (APCu's apcu_add,
// ngx.shared.DICT's add).
func (db *DB) PutIfAbsent(key, value []byte, ttl time.Duration) (bool, error) {
	return db.putIf(key, value, ttl, false)
}

// Replace stores value under key with ttl (<= 0: never expires) only if the
// key is present and not expired, and reports whether it did
// (ngx.shared.DICT's replace).
func (db *DB) Replace(key, value []byte, ttl time.Duration) (bool, error) {
	return db.putIf(key, value, ttl, true)
}

func (db *DB) putIf(key, value []byte, ttl time.Duration, present bool) (bool, error) {
	if err := checkPut(key, value); err != nil {
		return false, err
	}
	flags, at := expiryFor(ttl)
	done := false
	err := db.writeEvicting("PutIfAbsent/Replace", func(t *txn) error {
		done = false
		if t.lookupLive(key).exists != present {
			return nil
		}
		done = true
		return t.put(key, value, flags, at)
	})
	return done, err
}

// Clear deletes every key. It works in batches, one transaction each (as
// many deletions as a log region holds), so readers may see the store half
// cleared while it runs; every key present when it started is gone when it
// returns.
func (db *DB) Clear() error {
	for {
		n, more := 0, false
		err := db.write("Clear", func(t *txn) error {
			t.swept = true
			if t.word(hdrRingCap) != 0 && t.word(hdrMainFilled) != 0 {
				t.setWord(hdrMainFilled, 0) // the cache fills anew
			}
			off, log2 := t.table()
			for i := uint64(0); i < 1<<log2; i++ {
				pos := off + 8*i
				// A deletion may shift another entry into pos: clear it too.
				for s := t.word(pos); s != 0; s = t.word(pos) {
					if t.logUse()+t.shiftCost(pos)+releaseCost > t.evictBudget() {
						more = n > 0
						return nil
					}
					t.release(slotOff(s))
					t.clearSlot(pos)
					n++
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("kv: Clear: %w", err)
		}
		if !more {
			return nil
		}
	}
}

// PutTTL stores value under key within the transaction, to expire after ttl
// (<= 0: never).
func (tx *Tx) PutTTL(key, value []byte, ttl time.Duration) error {
	if err := tx.live(); err != nil {
		return err
	}
	if err := checkPut(key, value); err != nil {
		return err
	}
	flags, at := expiryFor(ttl)
	sp := tx.t.savepoint()
	if err := tx.t.put(key, value, flags, at); err != nil {
		tx.t.rollback(sp)
		tx.t.short = tx.t.short || errors.Is(err, ErrFull)
		return err
	}
	return nil
}
