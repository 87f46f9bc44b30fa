//go:build unix

package kv

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"
)

// The writer lock (docs/concurrency.md, "Who holds what"): an exclusive flock
// on the handle's own open file description, which the kernel drops when the
// process dies, plus the handle's in-process mutex wmu, since every goroutine
// of one handle shares its flock. A handle keeps the flock while goroutines
// queue for wmu and hands it from one to the next (maxStreak), so a burst of
// writes pays for it once. Every taking and releasing of the lock is here,
// including Open's: initialising a new file and repairing an interrupted one
// lock through the descriptor the handle already has.

// maxStreak bounds how many writes of this handle run under one hold of the
// flock, so writers in other processes get their turn.
const maxStreak = 64

// lockWriter takes the writer lock for a write, Check or Snapshot. From inside
// an Update's fn, which holds it already, it refuses instead of deadlocking.
func (db *DB) lockWriter() error {
	if db.insideUpdate() {
		return fmt.Errorf("kv: called inside Update's fn, which holds the writer lock: use the *Tx's methods: %w", ErrInvalid)
	}
	db.waiting.Add(1)
	db.wmu.Lock()
	db.waiting.Add(-1)
	if db.closed.Load() {
		db.wmu.Unlock()
		return ErrClosed
	}
	if db.flockHeld {
		return nil
	}
	if err := db.f.lock(db.lockTimeout); err != nil {
		db.wmu.Unlock()
		return err
	}
	db.flockHeld = true
	db.streak = 0
	if !db.readOnly {
		db.f.m.Load().store(hdrWriterPID, db.pid)
	}
	return nil
}

func (db *DB) unlockWriter() {
	db.streak++
	if db.waiting.Load() == 0 || db.streak >= maxStreak || db.closed.Load() {
		db.releaseFlock()
	}
	db.wmu.Unlock()
}

func (db *DB) releaseFlock() {
	if !db.flockHeld {
		return
	}
	if !db.readOnly {
		db.f.m.Load().store(hdrWriterPID, 0)
	}
	_ = db.f.unlock()
	db.flockHeld = false
}

// holdStill takes the writer lock and keeps Close out, so that the file holds
// still for a Check or a copy; readers go on meanwhile. The caller then
// finishes a killed writer's commit (recoverPending) where it catches faults.
func (db *DB) holdStill() (release func(), err error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if err := db.lockWriter(); err != nil {
		return nil, err
	}
	db.closeMu.RLock()
	if db.closed.Load() {
		db.closeMu.RUnlock()
		db.unlockWriter()
		return nil, ErrClosed
	}
	return func() {
		db.closeMu.RUnlock()
		db.unlockWriter()
	}, nil
}

// repairAtOpen runs Open's recovery (recoverLogs) if the writer lock is free.
// If another handle holds it, the file is live: that handle opened it first
// and recovered it then, and a killed writer's log is finished by the next
// write as always.
func (db *DB) repairAtOpen() (err error) {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if !db.f.tryLock() {
		return nil
	}
	db.flockHeld = true
	db.f.m.Load().store(hdrWriterPID, db.pid)
	defer db.releaseFlock()
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	_, err = db.recoverLogs()
	return err
}

// lock takes the cross-process writer lock: flock on this handle's own open
// file description, so two handles in one process exclude each other too. The
// kernel drops it when the process dies.
func (f *file) lock(timeout time.Duration) error {
	err := unix.Flock(f.fd, unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		return fmt.Errorf("kv: lock %s: %w", f.path, err)
	}
	if timeout <= 0 {
		for {
			err = unix.Flock(f.fd, unix.LOCK_EX)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("kv: lock %s: %w", f.path, err)
		}
		return nil
	}
	deadline := time.Now().Add(timeout)
	pause := 20 * time.Microsecond
	for {
		if time.Now().After(deadline) {
			return fmt.Errorf("kv: %s: waited %v: %w", f.path, timeout, ErrLocked)
		}
		time.Sleep(min(pause, time.Until(deadline)+time.Microsecond))
		pause = min(2*pause, 2*time.Millisecond)
		err = unix.Flock(f.fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("kv: lock %s: %w", f.path, err)
		}
	}
}

// tryLock takes the writer lock if no handle holds it, without waiting.
func (f *file) tryLock() bool {
	return unix.Flock(f.fd, unix.LOCK_EX|unix.LOCK_NB) == nil
}

func (f *file) unlock() error {
	return unix.Flock(f.fd, unix.LOCK_UN)
}

// lockFree reports whether no handle holds the writer lock right now.
func (f *file) lockFree() bool {
	if unix.Flock(f.fd, unix.LOCK_SH|unix.LOCK_NB) != nil {
		return false
	}
	_ = unix.Flock(f.fd, unix.LOCK_UN)
	return true
}

// writerPID names the process holding the writer lock. The pid word in the
// header is only a hint (a killed writer leaves its pid behind); the lock
// itself says whether anyone holds it.
func (db *DB) writerPID(m *mapping) int {
	if !db.wmu.TryLock() {
		return os.Getpid() // a writer of this handle is at work
	}
	defer db.wmu.Unlock()
	if db.flockHeld {
		return os.Getpid()
	}
	if db.f.lockFree() {
		return 0
	}
	if pid := int(m.load(hdrWriterPID)); pid != 0 {
		return pid
	}
	return -1 // held by a reader-only handle (a snapshot or check)
}
