//go:build unix

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// DB is an open store. It is safe for concurrent use by many goroutines. Two
// DBs opened on the same file, in one process or in two, behave like two
// processes: they share the data and exclude each other as writers.
type DB struct {
	f           *file
	seed        uint64
	maxSize     uint64
	evict       bool // the file is a cache: evict at MaxSize
	readOnly    bool
	syncWrites  bool
	lockTimeout time.Duration
	computeFor  time.Duration // Options.ComputeTimeout
	logPages    uint64        // pages of each log region (the file's header)
	minHW       uint64        // the lowest high-water mark a file can have

	closeMu sync.RWMutex // readers hold it shared; Close exclusively
	closed  atomic.Bool

	watchers watchHub // Watch's waiter and the goroutines it wakes (watch_hub.go)

	// The writer side. wmu serialises this handle's writers; while goroutines
	// queue on it, the flock is handed from one to the next without being
	// released, so a burst of writes pays for the lock once (group commit).
	wmu          sync.Mutex
	waiting      atomic.Int32
	flockHeld    bool
	streak       int
	tx           txn
	updater      atomic.Int64          // who runs an Update's fn (reentry.go), 0 if none
	repairs      atomic.Int64          // killed writers' commits this handle finished
	syncErr      atomic.Pointer[error] // a failed flush: this handle writes no more
	batchMu      sync.Mutex            // guards the group commit's queue (batch.go)
	batchQ       []*batchReq
	batchLeading bool
	lastBatch    atomic.Int32 // writes in the last group commit
	viewRetries  atomic.Int64 // optimistic View runs that a commit overtook
	viewLocks    atomic.Int64 // View runs that held the writer lock
	hits         readCounter  // Gets that found their key (cache mode only)
	misses       readCounter  // Gets that did not (cache mode only)
	pid          uint64       // recorded in the header while this handle writes
}

// Path returns the file's path as given to Open.
func (db *DB) Path() string { return db.f.path }

// Get returns a copy of the value of key, or ErrNotFound when the key is
// absent or expired. It takes no lock and never waits for a writer. The
// returned slice is the caller's.
//
// It returns ErrInvalid for an empty key, ErrTooLarge for a key longer than
// MaxKeySize, ErrClosed on a closed DB, ErrBusy when writers kept rewriting
// the key while it was read (retrying later succeeds), and ErrCorrupt when
// the file is damaged or was truncated under it.
func (db *DB) Get(key []byte) ([]byte, error) {
	// Read into a stack buffer, then copy out exactly the value: a read appends
	// the whole record before it keeps the value, which would otherwise size
	// the caller's slice for the record.
	var buf [256]byte
	v, err := db.AppendGet(buf[:0], key)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(v), nil
}

// AppendGet appends the value of key to dst and returns the extended slice, or
// dst and ErrNotFound. With a reused dst it allocates nothing. It returns the
// errors of Get, with dst unchanged.
func (db *DB) AppendGet(dst, key []byte) (out []byte, err error) {
	if err := checkKey(key); err != nil {
		return dst, err
	}
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed.Load() {
		return dst, ErrClosed
	}
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	out, err = db.lookup(dst, key, nil)
	if db.evict { // a cache's users want its hit ratio; others skip the shared counter
		if err == nil {
			db.hits.count(db, hdrHits)
		} else if errors.Is(err, ErrNotFound) {
			db.misses.count(db, hdrMisses)
		}
	}
	return out, err
}

// Put stores value under key, replacing any previous value and its TTL (the
// key then never expires; see PutTTL). It returns after the write is visible
// to every process; with Options.Sync, after it is on disk.
//
// It returns ErrInvalid for an empty key or when called inside an Update's
// fn, ErrTooLarge for a key or value over MaxKeySize or MaxValueSize or a
// record too large for the file's MaxSize, ErrFull when a bounded file that
// does not evict has no room (a cache evicts instead), ErrReadOnly,
// ErrClosed, ErrLocked when the writer lock is not free within
// Options.LockTimeout, and ErrCorrupt when the file is damaged. A flush that
// fails (Options.Sync) is returned as the system's error, and the handle
// writes no more.
func (db *DB) Put(key, value []byte) error {
	if err := checkPut(key, value); err != nil {
		return err
	}
	return writeEvicting(db, "Put", putOp{key, value})
}

// putOp and deleteOp are Put's and Delete's bodies (txnOp).
type putOp struct{ key, value []byte }

func (o putOp) run(t *txn) error { return t.put(o.key, o.value, 0, 0) }

type deleteOp struct{ key []byte }

func (o deleteOp) run(t *txn) error { t.del(o.key); return nil }

// Delete removes key. Deleting an absent key is not an error. It returns the
// errors of Put but ErrTooLarge only for a long key, and never ErrFull.
func (db *DB) Delete(key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return writeOne(db, "Delete", deleteOp{key})
}

// write runs op as one transaction under the writer lock and commits it.
func (db *DB) write(what string, op func(t *txn) error) (err error) {
	if db.closed.Load() {
		return ErrClosed
	}
	if db.readOnly {
		return fmt.Errorf("kv: %s on %s: %w", what, db.f.path, ErrReadOnly)
	}
	if err := db.lockWriter(); err != nil {
		return err
	}
	defer db.unlockWriter()
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	if err := db.writable(); err != nil {
		return err
	}
	if _, err := db.recoverPending(); err != nil {
		return err
	}
	t := &db.tx
	t.begin()
	if err := op(t); err != nil {
		return t.roomFor(err)
	}
	if t.word(hdrTTLKeys) > 0 && !t.swept {
		t.reclaimExpired(reclaimStep, nowMillis(), 0)
	}
	if err := t.commit(); err != nil {
		return t.roomFor(err)
	}
	if t.wrote {
		db.wakeWatchers()
	}
	return nil
}

// writable refuses writes on a handle whose flush failed: the kernel may
// have dropped its dirty pages, so a write that returned nil could still be
// lost. Reads go on; a new handle starts afresh.
func (db *DB) writable() error {
	if e := db.syncErr.Load(); e != nil {
		return fmt.Errorf("kv: %s: %w (%w): check the disk, then open the file again", db.f.path, errSyncFailed, *e)
	}
	return nil
}

// Sync flushes all committed writes to the device. On a read-only DB it does
// nothing and returns nil. It returns ErrClosed on a closed DB, or the
// system's error.
func (db *DB) Sync() error {
	if db.readOnly {
		return nil
	}
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed.Load() {
		return ErrClosed
	}
	if err := db.f.sync(); err != nil {
		return fmt.Errorf("kv: sync %s: %w", db.f.path, err)
	}
	return nil
}

// Close releases the file. Calls in flight finish first; every later call
// returns ErrClosed, and every Watch in progress ends with it. A second Close
// returns nil. Close returns ErrInvalid when called inside an Update's fn,
// and the system's error if closing the file fails.
func (db *DB) Close() error {
	if db.insideUpdate() {
		return fmt.Errorf("kv: Close called inside Update's fn: return from fn first: %w", ErrInvalid)
	}
	if db.closed.Swap(true) {
		return nil
	}
	db.watchers.shutdown()
	db.wmu.Lock()
	db.releaseFlock()
	db.wmu.Unlock()
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	func() {
		var err error
		defer db.catchFault(&err, debug.SetPanicOnFault(true))
		db.flushCounters()
	}()
	if err := db.f.close(); err != nil {
		return fmt.Errorf("kv: close %s: %w", db.f.path, err)
	}
	return nil
}

// catchFault turns a memory fault on the mapping (the file was truncated under
// us: SIGBUS) and a corruption found by the writer into an ErrCorrupt error.
// Use it as defer db.catchFault(&err, debug.SetPanicOnFault(true)): the
// setting is per goroutine, armed for the call and restored here.
func (db *DB) catchFault(err *error, faultWas bool) {
	debug.SetPanicOnFault(faultWas)
	if r := recover(); r != nil {
		switch e := r.(type) {
		case corruption:
			*err = fmt.Errorf("kv: %s: %w", db.f.path, e.err)
		case runtime.Error:
			if isMemoryFault(e) {
				*err = fmt.Errorf("kv: %s: memory fault reading the mapping (was the file truncated?): %v: %w", db.f.path, e, ErrCorrupt)
				return
			}
			panic(r)
		default:
			panic(r)
		}
	}
}

func isMemoryFault(e runtime.Error) bool {
	_, ok := e.(interface{ Addr() uintptr })
	return ok
}

func checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return fmt.Errorf("kv: empty key: %w", ErrInvalid)
	case len(key) > MaxKeySize:
		return fmt.Errorf("kv: key of %d bytes, the limit is %d: %w", len(key), MaxKeySize, ErrTooLarge)
	}
	return nil
}

func checkPut(key, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("kv: value of %d bytes, the limit is %d: %w", len(value), MaxValueSize, ErrTooLarge)
	}
	return nil
}
