//go:build unix

package kv

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"
)

// Watch: waiting for another process's write without polling. Within a
// process, one waiter per handle (watchHub, watch_hub.go) announces that
// someone watches by moving hdrWatchUntil a little into the future and sleeps
// on the futex word hdrWatchSeq; a writer whose commit finds hdrWatchUntil in
// the future bumps the word and wakes every sleeper (a shared futex works
// across processes on a MAP_SHARED mapping), and the waiter wakes the watching
// goroutines through a channel, so that goroutines, not OS threads, wait.
// Writes with no watcher about pay a clock read and one load. The protocol and
// its no-lost-wake-up argument are in docs/concurrency.md, "Watch".

// watchSlice bounds one sleep of a handle's waiter: it renews the announcement
// at least this often, and a stale one (its process died) lapses soon after.
const watchSlice = 100 * time.Millisecond

// announceFor is how far ahead an announcement reaches: twice the slice, so
// that it outlives the sleep it covers.
const announceFor = 2 * watchSlice

// Watch returns key's value and version as soon as its version differs from
// since: at once if it differs already, else when a writer in any process
// changes the key. A deleted or expired key has version 0 and returns
// ErrNotFound; so since 0 returns a present key's value at once and waits for
// an absent key to appear; a key's expiry is a change like a write. Watch
// returns ctx's error as soon as ctx ends (within the time it takes to
// schedule the goroutine), ErrClosed when the DB is closed, also while it
// waits, ErrInvalid or ErrTooLarge for a bad key, ErrBusy when writers kept
// rewriting the key while it was read, and ErrCorrupt when the file was
// damaged or truncated under it. Versions change whenever the key's
// record is replaced by different content; writes that land while the caller
// is not in Watch are seen as their latest result, not one by one. The
// returned value is the caller's.
//
// Watch is cheap to call from many goroutines at once: they wait on a channel,
// and one waiter per DB sleeps on the file's futex (Linux, read-write handle)
// or polls with a backoff from 1 ms up to 50 ms (other systems, and read-only
// handles, which may not announce themselves in the file). Any write to the
// file wakes every watching goroutine of the handle to re-read its key.
func (db *DB) Watch(ctx context.Context, key []byte, since uint64) ([]byte, uint64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	return db.watch(ctx, key, since, false)
}

// watch is Watch; with hidden, a lease or an expired record has a version of
// its own, so that a waiter sees a lease end as a change.
//
// Each round registers with the handle's hub before it reads the key, and then
// waits on the channel it got: a write the read missed closes that channel
// (docs/concurrency.md, "Watch").
func (db *DB) watch(ctx context.Context, key []byte, since uint64, hidden bool) ([]byte, uint64, error) {
	h := &db.watchers
	var buf []byte
	woken := false
	for {
		wake, err := h.register(db)
		if err != nil {
			return nil, 0, err
		}
		v, ver, ends, err := db.versioned(buf[:0], key, hidden)
		if (err != nil && !errors.Is(err, ErrNotFound)) || ver != since {
			h.leave(woken && ver != since)
			if err != nil {
				return nil, ver, err
			}
			return v, ver, nil
		}
		buf = v
		// A record that expires changes its version with no write to wake
		// anyone: a timer wakes this goroutine then.
		var expired <-chan time.Time
		var timer *time.Timer
		if d := time.Until(time.UnixMilli(ends)); ends != 0 && d > 0 {
			timer = time.NewTimer(d)
			expired = timer.C
		}
		select {
		case <-wake:
		case <-expired:
		case <-ctx.Done():
		}
		h.leave(false)
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		woken = true
	}
}

// versioned appends key's value to dst and returns it with its version and
// the time in Unix milliseconds at which that version ends by expiring (0 for
// never); an absent key is version 0 with ErrNotFound.
func (db *DB) versioned(dst, key []byte, hidden bool) ([]byte, uint64, int64, error) {
	var info readInfo
	v, err := db.getInfo(dst, key, &info)
	ends := int64(0)
	if info.flags&recExpires != 0 {
		ends = info.expiry
	}
	switch {
	case errors.Is(err, ErrNotFound) && hidden && info.off != 0:
		return v, info.version(), ends, err
	case errors.Is(err, ErrNotFound):
		return v, 0, 0, err
	case errors.Is(err, ErrClosed):
		return nil, 0, 0, err
	case err != nil:
		return nil, 0, 0, fmt.Errorf("kv: Watch: %w", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, info.version(), ends, nil
}

// seqWord is the futex word in mapping m.
func seqWord(m *mapping) *uint32 { return (*uint32)(unsafe.Pointer(&m.data[hdrWatchSeq])) }

// announceUntil raises hdrWatchUntil to until unless it is later already; the
// word only grows. An announcement happens before the reads of keys it
// covers, and a writer's look at hdrWatchUntil happens after its slot stores,
// so one of them sees the other (all are sequentially consistent atomics).
func announceUntil(m *mapping, until int64) {
	w := m.word(hdrWatchUntil)
	for {
		cur := atomic.LoadUint64(w)
		if cur >= uint64(until) || atomic.CompareAndSwapUint64(w, cur, uint64(until)) {
			return
		}
	}
}

// wakeWatchers runs after each commit: a clock read and one load when nobody
// watches. The clock is read first, so that an announcement counts as over
// only if it ended before the load: a waiter that renews it after the load
// then finds it over too, and wakes its goroutines itself (watch_hub.go).
func (db *DB) wakeWatchers() {
	now := nowMillis()
	m := db.f.m.Load()
	until := m.load(hdrWatchUntil)
	if until == 0 || int64(until) < now {
		return
	}
	bumpAndWake(seqWord(m))
}

// bumpAndWake changes the futex word and wakes every process asleep on it.
func bumpAndWake(w *uint32) {
	atomic.AddUint32(w, 1)
	futexWake(w)
}
