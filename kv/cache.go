//go:build unix

package kv

import (
	"fmt"
	"math"
	"runtime/debug"
	"time"
)

// Cache operations: expiring entries and atomic read-modify-write steps.
// Each DB method runs as one transaction under the writer lock, so it is
// atomic across processes; the Tx method of the same name does the same
// inside an Update, all or nothing like Tx.Put. Both run the one body of
// the operation (cacheops.go). docs/cache.md maps them to APCu,
// ngx.shared.DICT, memcached and Redis.
//
// The TTL rule, the same for DB and Tx (docs/cache.md, "TTLs"): a ttl > 0
// makes the key expire ttl after the write (millisecond resolution, rounded
// up); ttl <= 0 means never; KeepTTL keeps the expiry of a key that is
// present. Every write that stores a value the caller gives (Put, PutTTL,
// PutIfAbsent, Replace, CompareAndSwap, GetOrCompute) gives the key the TTL
// of that call, replacing the one it had, as memcached's set, add, replace
// and cas, Redis's SET and ngx.shared.DICT's set, add and replace do. Add
// and AddTTL change a counter in place: an existing key keeps its TTL
// (Redis's INCR, memcached's incr, apcu_inc), and a key they create gets
// AddTTL's ttl (ngx.shared.DICT's incr with init_ttl), none with Add.
// Expire changes the TTL alone.

// NoTTL is what TTL returns for a key that never expires. Passed as a ttl it
// means "never expires", like any ttl <= 0, so a TTL read back can be
// written again.
const NoTTL time.Duration = -1

// KeepTTL, passed as the ttl of PutTTL, PutIfAbsent, Replace or
// CompareAndSwap, keeps the expiry of the key the call overwrites (Redis's
// SET KEEPTTL); a key the call creates never expires. A read-modify-write
// loop over CompareAndSwap keeps a key's TTL with it. Expire with KeepTTL
// changes nothing.
const KeepTTL time.Duration = math.MinInt64

// PutTTL stores value under key, replacing any previous value and TTL, to
// expire after ttl (<= 0: never; KeepTTL: when the key's present value
// would). It returns ErrInvalid for an empty key or inside an Update's fn,
// ErrTooLarge, ErrFull (a bounded file that does not evict), ErrReadOnly,
// ErrClosed, ErrLocked and ErrCorrupt, as Put does.
func (db *DB) PutTTL(key, value []byte, ttl time.Duration) error {
	if err := checkPut(key, value); err != nil {
		return err
	}
	return writeEvicting(db, "PutTTL", putTTLOp{key, value, ttl})
}

// putTTLOp is PutTTL's body (txnOp): a cache's busiest write, allocation-free.
type putTTLOp struct {
	key, value []byte
	ttl        time.Duration
}

func (o putTTLOp) run(t *txn) error { return t.putTTL(o.key, o.value, o.ttl) }

// PutTTL is DB.PutTTL within the transaction. If it fails, the transaction
// is as it was before the call and fn may go on.
func (tx *Tx) PutTTL(key, value []byte, ttl time.Duration) error {
	return tx.run(checkPut(key, value), func(t *txn) error { return t.putTTL(key, value, ttl) })
}

// TTL returns how long key has left to live, NoTTL if it never expires, or
// ErrNotFound if it is absent or expired. Like Get, it takes no lock; it
// returns ErrInvalid or ErrTooLarge for a bad key, ErrClosed, ErrBusy and
// ErrCorrupt as Get does.
func (db *DB) TTL(key []byte) (time.Duration, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	var info readInfo
	var buf [64]byte
	if _, err := db.getInfo(buf[:0], key, &info); err != nil {
		return 0, err
	}
	return ttlLeft(info.flags, info.expiry), nil
}

// TTL is DB.TTL as the transaction sees the key, its own writes included.
func (tx *Tx) TTL(key []byte) (time.Duration, error) {
	if err := tx.live(); err != nil {
		return 0, err
	}
	if err := checkKey(key); err != nil {
		return 0, err
	}
	c := tx.t.lookupLive(key)
	if !c.exists {
		return 0, ErrNotFound
	}
	return ttlLeft(c.meta.flags, c.meta.expiry), nil
}

// ttlLeft is the TTL a record with flags and expiry has left: NoTTL, or at
// least a millisecond (an expired record is not live).
func ttlLeft(flags uint16, expiry int64) time.Duration {
	if flags&recExpires == 0 {
		return NoTTL
	}
	return max(time.Duration(expiry-nowMillis())*time.Millisecond, time.Millisecond)
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

// Expire sets key to expire after ttl, keeping its value; ttl <= 0 makes it
// permanent. It returns ErrNotFound if the key is absent or expired, and
// otherwise the errors of PutTTL.
func (db *DB) Expire(key []byte, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return writeEvicting(db, "Expire", opFunc(func(t *txn) error { return t.expire(key, ttl) }))
}

// Expire is DB.Expire within the transaction; it sees the transaction's own
// writes, and if it fails the transaction is as it was before the call.
func (tx *Tx) Expire(key []byte, ttl time.Duration) error {
	return tx.run(checkKey(key), func(t *txn) error { return t.expire(key, ttl) })
}

// Add adds delta to the 8-byte little-endian integer stored under key and
// returns the result; an absent or expired key counts as 0 and is created
// with no TTL, an existing key keeps its TTL. It wraps on overflow like
// sync/atomic.AddInt64. A value that is not 8 bytes is ErrInvalid, and
// nothing changes; otherwise it returns the errors of PutTTL.
func (db *DB) Add(key []byte, delta int64) (int64, error) {
	return db.AddTTL(key, delta, 0)
}

// AddTTL is Add, with ttl (<= 0: none) given to the key when this call
// creates it (like ngx.shared.DICT's incr with init_ttl); an existing key
// keeps its TTL.
func (db *DB) AddTTL(key []byte, delta int64, ttl time.Duration) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	var n int64
	err := writeEvicting(db, "Add", opFunc(func(t *txn) (err error) {
		n, err = t.add(key, delta, ttl)
		return err
	}))
	return n, err
}

// Add is DB.Add within the transaction.
func (tx *Tx) Add(key []byte, delta int64) (int64, error) { return tx.AddTTL(key, delta, 0) }

// AddTTL is DB.AddTTL within the transaction.
func (tx *Tx) AddTTL(key []byte, delta int64, ttl time.Duration) (int64, error) {
	var n int64
	err := tx.run(checkKey(key), func(t *txn) (err error) {
		n, err = t.add(key, delta, ttl)
		return err
	})
	return n, err
}

// CompareAndSwap stores new under key, with ttl (<= 0: never expires;
// KeepTTL: the key's present one), if the key's current value equals old,
// and reports whether it did. old == nil means "only if absent"; a non-nil
// empty old means "present with an empty value"; new == nil stores an empty
// value. It returns the errors of PutTTL.
func (db *DB) CompareAndSwap(key, old, new []byte, ttl time.Duration) (bool, error) {
	if err := checkPut(key, new); err != nil {
		return false, err
	}
	var swapped bool
	err := writeEvicting(db, "CompareAndSwap", opFunc(func(t *txn) (err error) {
		swapped, err = t.compareAndSwap(key, old, new, ttl)
		return err
	}))
	return swapped, err
}

// CompareAndSwap is DB.CompareAndSwap within the transaction, comparing with
// the value the transaction sees.
func (tx *Tx) CompareAndSwap(key, old, new []byte, ttl time.Duration) (bool, error) {
	var swapped bool
	err := tx.run(checkPut(key, new), func(t *txn) (err error) {
		swapped, err = t.compareAndSwap(key, old, new, ttl)
		return err
	})
	return swapped, err
}

// PutIfAbsent stores value under key with ttl (<= 0: never expires) only if
// the key is absent or expired, and reports whether it did (APCu's
// apcu_add, ngx.shared.DICT's add, Redis's SET NX, memcached's add). It
// returns the errors of PutTTL.
func (db *DB) PutIfAbsent(key, value []byte, ttl time.Duration) (bool, error) {
	return db.putIf("PutIfAbsent", key, value, ttl, false)
}

// PutIfAbsent is DB.PutIfAbsent within the transaction.
func (tx *Tx) PutIfAbsent(key, value []byte, ttl time.Duration) (bool, error) {
	return tx.putIf(key, value, ttl, false)
}

// Replace stores value under key with ttl (<= 0: never expires; KeepTTL:
// the key's present one) only if the key is present and not expired, and
// reports whether it did (ngx.shared.DICT's replace, Redis's SET XX,
// memcached's replace). It returns the errors of PutTTL.
func (db *DB) Replace(key, value []byte, ttl time.Duration) (bool, error) {
	return db.putIf("Replace", key, value, ttl, true)
}

// Replace is DB.Replace within the transaction.
func (tx *Tx) Replace(key, value []byte, ttl time.Duration) (bool, error) {
	return tx.putIf(key, value, ttl, true)
}

func (db *DB) putIf(what string, key, value []byte, ttl time.Duration, present bool) (bool, error) {
	if err := checkPut(key, value); err != nil {
		return false, err
	}
	var done bool
	err := writeEvicting(db, what, opFunc(func(t *txn) (err error) {
		done, err = t.putIf(key, value, ttl, present)
		return err
	}))
	return done, err
}

func (tx *Tx) putIf(key, value []byte, ttl time.Duration, present bool) (bool, error) {
	var done bool
	err := tx.run(checkPut(key, value), func(t *txn) (err error) {
		done, err = t.putIf(key, value, ttl, present)
		return err
	})
	return done, err
}

// Clear deletes every key. It works in batches, one transaction each (as
// many deletions as a log region holds), so readers may see the store half
// cleared while it runs; every key present when it started is gone when it
// returns. It returns ErrReadOnly, ErrClosed, ErrLocked, ErrInvalid inside an
// Update's fn, and ErrCorrupt; after an error some keys may be gone.
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
