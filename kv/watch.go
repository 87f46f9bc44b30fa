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

// Watch: waiting for another process's write without polling. A watcher
// announces itself by moving hdrWatchUntil a little into the future and sleeps
// on the futex word hdrWatchSeq (a shared futex works across processes on a
// MAP_SHARED mapping); a writer whose commit finds hdrWatchUntil in the future
// bumps the word and wakes every sleeper, which then re-reads its key. Writes
// with no watcher about pay one load. A watcher killed while waiting costs
// writers a wake-up call until its announcement runs out (watchSlice).

// watchSlice bounds one sleep: a watcher renews its announcement at least this
// often, and a stale one lapses soon after.
const watchSlice = 100 * time.Millisecond

// Watch returns key's value and version as soon as its version differs from
// since: at once if it differs already, else when a writer in any process
// changes the key. A deleted or expired key has version 0 and returns
// ErrNotFound; so since 0 returns a present key's value at once and waits for
// an absent key to appear. Watch returns ctx's error when ctx
// ends first. Versions change whenever the key's record is replaced by
// different content; writes that land while the caller is not in Watch are
// seen as their latest result, not one by one.
//
// On Linux it sleeps on a futex in the shared mapping. On other systems, and
// on a read-only handle (which may not announce itself in the file), it polls
// with a backoff up to 50 ms.
func (db *DB) Watch(ctx context.Context, key []byte, since uint64) ([]byte, uint64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	return db.watch(ctx, key, since, false)
}

// watch is Watch; with hidden, a lease or an expired record has a version of
// its own, so that a waiter sees a lease end as a change.
func (db *DB) watch(ctx context.Context, key []byte, since uint64, hidden bool) ([]byte, uint64, error) {
	pause := time.Millisecond
	for {
		seq, ok := db.watchSeq()
		if !ok {
			return nil, 0, ErrClosed
		}
		if !db.readOnly {
			db.announceWatcher()
		}
		v, ver, err := db.versioned(key, hidden)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, 0, err
		}
		if ver != since {
			return v, ver, err
		}
		wait := watchSlice
		if d, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(d))
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		if db.readOnly || !futexSupported {
			time.Sleep(min(pause, wait))
			pause = min(2*pause, 50*time.Millisecond)
		} else if wait > 0 {
			db.sleepOn(seq, wait)
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
	}
}

// versioned reads key with its version; an absent key is version 0 with
// ErrNotFound.
func (db *DB) versioned(key []byte, hidden bool) ([]byte, uint64, error) {
	var info readInfo
	v, err := db.getInfo(nil, key, &info)
	switch {
	case errors.Is(err, ErrNotFound) && hidden && info.off != 0:
		return nil, info.version(), err
	case errors.Is(err, ErrNotFound):
		return nil, 0, err
	case err != nil:
		return nil, 0, fmt.Errorf("kv: Watch: %w", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, info.version(), nil
}

// seqWord is the futex word in mapping m.
func seqWord(m *mapping) *uint32 { return (*uint32)(unsafe.Pointer(&m.data[hdrWatchSeq])) }

func (db *DB) watchSeq() (uint32, bool) {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed.Load() {
		return 0, false
	}
	return atomic.LoadUint32(seqWord(db.f.m.Load())), true
}

// announceWatcher moves hdrWatchUntil past the coming sleep. It happens before
// the watcher's last look at its key and a writer's look at hdrWatchUntil
// happens after its slot stores, so one of them sees the other (all three are
// sequentially consistent atomics): no wake-up is lost.
func (db *DB) announceWatcher() {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed.Load() {
		return
	}
	w := db.f.m.Load().word(hdrWatchUntil)
	until := uint64(nowMillis() + 2*watchSlice.Milliseconds())
	for {
		cur := atomic.LoadUint64(w)
		if cur >= until || atomic.CompareAndSwapUint64(w, cur, until) {
			return
		}
	}
}

func (db *DB) sleepOn(seq uint32, d time.Duration) {
	db.closeMu.RLock()
	word := seqWord(db.f.m.Load())
	db.closeMu.RUnlock()
	// A Close meanwhile unmaps the word; the futex call then fails with
	// EFAULT and returns, and the loop sees ErrClosed.
	futexWait(word, seq, d)
}

// wakeWatchers runs after each commit: one load when nobody watches.
func (db *DB) wakeWatchers() {
	m := db.f.m.Load()
	until := m.load(hdrWatchUntil)
	if until == 0 || int64(until) < nowMillis() {
		return
	}
	w := seqWord(m)
	atomic.AddUint32(w, 1)
	futexWake(w)
}
