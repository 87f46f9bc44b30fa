//go:build unix

package kv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// GetOrCompute returns key's value; when the key is absent it calls fn once
// across every process that asks at the same time, stores fn's value with ttl
// (<= 0: no expiry) and returns it (APCu's apcu_entry). While one caller
// computes, the key holds a lease (a hidden record) and the others wait for its
// value without polling (see Watch), each until the value arrives or its ctx
// ends (then it returns ctx's error). A computer that dies, or whose fn runs
// longer than Options.ComputeTimeout, loses the lease and another caller
// computes. If fn fails, GetOrCompute returns fn's error and the key stays
// absent; if fn panics (or calls runtime.Goexit), the lease is withdrawn before
// the panic goes on up the caller's stack. Either way a waiting caller then
// computes itself at once. A caller whose ctx has ended computes nothing and
// returns ctx's error; fn itself is not given ctx (close over it). The value
// returned is the caller's. ttl follows the TTL rule of the conditional
// writes (cache.go): the value fn computes gets it.
//
// GetOrCompute returns ErrInvalid for an empty key or inside an Update's fn,
// ErrTooLarge for a long key or a value of fn's too large to store (the key
// then stays absent), ctx's error, fn's error as it is, and a write's errors:
// ErrFull, ErrReadOnly, ErrClosed, ErrLocked, ErrBusy and ErrCorrupt.
func (db *DB) GetOrCompute(ctx context.Context, key []byte, ttl time.Duration, fn func() ([]byte, error)) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	for {
		v, err := db.Get(key)
		if !errors.Is(err, ErrNotFound) {
			return v, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lease, holder, value, err := db.claim(key)
		switch {
		case err != nil:
			return nil, err
		case value != nil:
			return value, nil
		case lease != 0:
			return db.compute(key, ttl, lease, fn)
		}
		// Another caller holds the lease: wait until the key's record changes
		// (a value, or the lease withdrawn), at most until the lease runs out.
		_, ver, _, err := db.versioned(nil, key, true)
		if err == nil || ver == 0 {
			continue // the value arrived already, or the lease is gone
		}
		wctx, cancel := context.WithDeadline(ctx, time.UnixMilli(holder))
		_, _, err = db.watch(wctx, key, ver, true)
		cancel()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
	}
}

// errNoChange makes a write that found nothing to change end without a
// commit, so that it does not wake every watcher of the file: claim's callers
// that find a lease would otherwise wake each other, once per caller.
var errNoChange = errors.New("kv: nothing to write")

// claim takes the lease on an absent key. It returns the lease's expiry when
// it took it, the holder's expiry when another caller holds it, or the value
// when one appeared.
func (db *DB) claim(key []byte) (lease, holder int64, value []byte, err error) {
	err = writeEvicting(db, "GetOrCompute", opFunc(func(t *txn) error {
		lease, holder, value = 0, 0, nil
		c := t.lookupLive(key)
		switch {
		case c.exists:
			value = bytes.Clone(c.value)
			if value == nil {
				value = []byte{}
			}
			return errNoChange
		case c.pending:
			holder = c.meta.expiry
			return errNoChange
		}
		lease = nowMillis() + db.computeFor.Milliseconds()
		return t.put(key, le.AppendUint64(nil, db.pid), recExpires|recPending, lease)
	}))
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return lease, holder, value, err
}

// compute runs fn under the lease and stores its value, unless another
// writer stored a real value meanwhile, which then wins and is returned. A fn
// that panics or exits its goroutine has the lease withdrawn on the way out,
// without recovering, so the panic keeps its stack.
func (db *DB) compute(key []byte, ttl time.Duration, lease int64, fn func() ([]byte, error)) ([]byte, error) {
	returned := false
	defer func() {
		if !returned {
			_ = db.withdraw(key, lease) // failing that, the lease expires
		}
	}()
	v, ferr := fn()
	returned = true
	if ferr != nil {
		if err := db.withdraw(key, lease); err != nil {
			return nil, fmt.Errorf("kv: GetOrCompute: %w (after fn failed: %v)", err, ferr)
		}
		return nil, ferr
	}
	if err := checkPut(key, v); err != nil {
		if werr := db.withdraw(key, lease); werr != nil {
			return nil, fmt.Errorf("kv: GetOrCompute: %w (after fn's value was refused: %v)", werr, err)
		}
		return nil, err
	}
	var out []byte
	err := writeEvicting(db, "GetOrCompute", opFunc(func(t *txn) error {
		out = nil
		if c := t.lookupLive(key); c.exists {
			out = bytes.Clone(c.value)
			return errNoChange
		}
		flags, at := expiryFor(ttl)
		out = v
		return t.put(key, v, flags, at)
	}))
	if err != nil && !errors.Is(err, errNoChange) {
		return nil, fmt.Errorf("kv: GetOrCompute: %w", err)
	}
	return out, nil
}

// withdraw deletes key's lease if it is still the one that expires at lease
// (this caller's), so that a waiting caller computes at once.
func (db *DB) withdraw(key []byte, lease int64) error {
	err := writeEvicting(db, "GetOrCompute", opFunc(func(t *txn) error {
		c := t.lookupLive(key)
		if !c.pending || c.meta.expiry != lease {
			return errNoChange
		}
		t.release(slotOff(c.p.slot))
		t.clearSlot(c.p.pos)
		return nil
	}))
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}
