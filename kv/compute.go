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
// value without polling (see Watch). A computer that dies, or whose fn runs
// longer than Options.ComputeTimeout, loses the lease and another caller
// computes. If fn fails, GetOrCompute returns fn's error and the key stays
// absent; waiting callers then compute themselves.
func (db *DB) GetOrCompute(key []byte, ttl time.Duration, fn func() ([]byte, error)) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	for {
		v, err := db.Get(key)
		if !errors.Is(err, ErrNotFound) {
			return v, err
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
		_, ver, err := db.versioned(key, true)
		if err == nil {
			continue // the value arrived already
		}
		ctx, cancel := context.WithDeadline(context.Background(), time.UnixMilli(holder))
		_, _, err = db.watch(ctx, key, ver, true)
		cancel()
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
	}
}

// claim takes the lease on an absent key. It returns the lease's expiry when
// it took it, the holder's expiry when another caller holds it, or the value
// when one appeared.
func (db *DB) claim(key []byte) (lease, holder int64, value []byte, err error) {
	err = db.writeEvicting("GetOrCompute", func(t *txn) error {
		lease, holder, value = 0, 0, nil
		c := t.lookupLive(key)
		switch {
		case c.exists:
			value = bytes.Clone(c.value)
			if value == nil {
				value = []byte{}
			}
			return nil
		case c.pending:
			holder = c.meta.expiry
			return nil
		}
		lease = nowMillis() + db.computeFor.Milliseconds()
		return t.put(key, le.AppendUint64(nil, db.pid), recExpires|recPending, lease)
	})
	return lease, holder, value, err
}

// compute runs fn under the lease and stores its value, unless another
// writer stored a real value meanwhile, which then wins and is returned.
func (db *DB) compute(key []byte, ttl time.Duration, lease int64, fn func() ([]byte, error)) ([]byte, error) {
	v, ferr := fn()
	if ferr == nil {
		if err := checkPut(key, v); err != nil {
			ferr = err
		}
	}
	var out []byte
	err := db.writeEvicting("GetOrCompute", func(t *txn) error {
		out = nil
		c := t.lookupLive(key)
		ours := c.pending && c.meta.expiry == lease
		switch {
		case c.exists:
			out = bytes.Clone(c.value)
			return nil
		case ferr != nil:
			if ours {
				t.release(slotOff(c.p.slot))
				t.clearSlot(c.p.pos)
			}
			return nil
		}
		flags, at := expiryFor(ttl)
		out = v
		return t.put(key, v, flags, at)
	})
	if ferr != nil {
		return nil, ferr
	}
	if err != nil {
		return nil, fmt.Errorf("kv: GetOrCompute: %w", err)
	}
	return out, nil
}
