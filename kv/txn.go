//go:build unix

package kv

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// txn is one write transaction, run while this handle holds the writer lock.
//
// Record bytes are written straight into space that is free in the committed
// state; they are unreachable until a slot points at them. Every change to a
// metadata word (slot, allocator state, counter) goes to the overlay and
// reaches the file only at commit, through the redo log: the log is written,
// published with one atomic store (the commit point), then applied. A writer
// killed before the commit point leaves nothing reachable; one killed after it
// leaves a log that the next writer applies again (docs/concurrency.md).
type txn struct {
	db      *DB
	ov      overlay
	hw0     uint64     // committed high-water mark: words at or above it are fresh, written directly
	frees   []freeItem // space to free at commit, so this transaction never reuses it
	undo    []wordUndo // old values of words written directly, for rollback
	moved   bool       // a deletion shifted entries: commit closes the move window
	limit   uint64     // bytes of the file this writer may touch
	maxSize uint64
}

// wordUndo is the value a direct write replaced.
type wordUndo struct{ off, old uint64 }

// freeItem is space released by the transaction: a record, or a run of pages.
type freeItem struct {
	off   uint64
	size  int // record size; 0 for a page run
	pages int
}

// corruption is panicked by the writer's metadata accessors when a word read
// from the file is impossible; db.write recovers it into an ErrCorrupt error.
type corruption struct{ err error }

func corruptf(format string, args ...any) {
	panic(corruption{fmt.Errorf(format+": %w", append(args, ErrCorrupt)...)})
}

func (t *txn) m() *mapping { return t.db.f.m.Load() }

// begin prepares the transaction; the writer lock is held.
func (t *txn) begin() {
	t.ov.reset()
	t.frees = t.frees[:0]
	t.undo = t.undo[:0]
	t.moved = false
	f := t.db.f
	m := f.m.Load()
	f.ensure(int64(m.load(hdrFileSize)))
	t.limit = uint64(f.limit.Load())
	t.hw0 = m.load(hdrHighWater)
	t.maxSize = t.db.maxSize
	if t.hw0 > t.limit || t.hw0%PageSize != 0 {
		corruptf("high-water mark %d beyond file size %d", t.hw0, t.limit)
	}
}

func (t *txn) checkWord(off uint64) {
	if off%8 != 0 || off < hdrFixedEnd || off+8 > t.limit {
		corruptf("word offset %d outside the file (size %d)", off, t.limit)
	}
}

// word reads a metadata word as this transaction sees it.
func (t *txn) word(off uint64) uint64 {
	if v, ok := t.ov.get(off); ok {
		return v
	}
	t.checkWord(off)
	return t.m().load(off)
}

// setWord writes a metadata word: directly into fresh space, else to the overlay.
func (t *txn) setWord(off, v uint64) {
	t.checkWord(off)
	if off >= t.hw0 {
		m := t.m()
		t.undo = append(t.undo, wordUndo{off, m.load(off)})
		m.store(off, v)
		return
	}
	t.ov.set(off, v)
}

func (t *txn) addWord(off uint64, delta int64) { t.setWord(off, t.word(off)+uint64(delta)) }

// bytes returns n bytes of the mapping at off for direct writing or reading.
func (t *txn) bytes(off uint64, n int) []byte {
	if off+uint64(n) > t.limit || off < PageSize {
		corruptf("byte range %d+%d outside the file (size %d)", off, n, t.limit)
	}
	return t.m().data[off : off+uint64(n)]
}

// savepoint and rollback make each operation inside an Update all-or-nothing.
// Fresh space an operation took lies past the restored high-water mark again,
// so only the words it wrote directly into earlier fresh space need undoing.
type savepoint struct {
	ov          overlayMark
	frees, undo int
	moved       bool
}

func (t *txn) savepoint() savepoint {
	return savepoint{t.ov.mark(), len(t.frees), len(t.undo), t.moved}
}

func (t *txn) rollback(s savepoint) {
	t.moved = s.moved
	t.ov.rollback(s.ov)
	t.frees = t.frees[:s.frees]
	m := t.m()
	for i := len(t.undo) - 1; i >= s.undo; i-- {
		m.store(t.undo[i].off, t.undo[i].old)
	}
	t.undo = t.undo[:s.undo]
}

// testStopAfterCommitPoint, set only by tests, makes commit stop right after
// its commit point, as if the writer had been killed there.
var testStopAfterCommitPoint func() bool

// The redo log region: a header, then (offset, value) pairs.
const (
	logMagic   = 0x31306c766b706d // "mpkvl01"
	logCount   = 8
	logSum     = 16
	logEntries = 64
)

// commit frees what the transaction released, writes and publishes the redo
// log, applies it, and retires it.
func (t *txn) commit() error {
	if t.ov.distinct == 0 && len(t.frees) == 0 {
		return nil
	}
	for _, fr := range t.frees {
		t.freeNow(fr)
	}
	t.frees = t.frees[:0]
	if t.moved {
		// First written here, so applied after every slot move of the log.
		t.setWord(hdrMoveEnd, t.word(hdrMoveStart))
	}
	t.addWord(hdrCommits, 1)
	logOff, err := t.logRegion()
	if err != nil {
		return err
	}
	n := t.ov.distinct
	log := t.bytes(logOff, logEntries+16*n)
	p := logEntries
	put := func(off, v uint64) {
		le.PutUint64(log[p:], off)
		le.PutUint64(log[p+8:], v)
		p += 16
	}
	// The move window brackets every slot store of the log: a slot written
	// before the first deletion of the transaction may still be cleared by a
	// later shift, so hdrMoveStart goes first and hdrMoveEnd last.
	if t.moved {
		put(hdrMoveStart, t.word(hdrMoveStart))
	}
	t.ov.each(func(off, v uint64) {
		if t.moved && (off == hdrMoveStart || off == hdrMoveEnd) {
			return
		}
		put(off, v)
	})
	if t.moved {
		put(hdrMoveEnd, t.word(hdrMoveEnd))
	}
	le.PutUint64(log[0:], logMagic)
	le.PutUint64(log[logCount:], uint64(n))
	le.PutUint64(log[logSum:], xxhash.Sum64(log[logEntries:p]))

	db := t.db
	m := t.m()
	// With Sync, three flushes order the steps on disk as they are ordered in
	// memory: the records and the log before the commit word, the commit word
	// before any applied word, the applied words before the log's retirement.
	if err := db.flushIfSync(); err != nil {
		return err
	}
	m.store(hdrPendingLog, logOff) // the commit point
	if testStopAfterCommitPoint != nil && testStopAfterCommitPoint() {
		return nil // a test leaves the file as a writer killed here would
	}
	if err := db.flushIfSync(); err != nil {
		// Committed in memory: every process sees it, the next writer replays
		// it; only its durability is in doubt.
		return err
	}
	applyLog(m, log[logEntries:p])
	if err := db.flushIfSync(); err != nil {
		return err
	}
	m.store(hdrPendingLog, 0)
	return nil
}

// testSkipSync, set only by tests, is asked before each durability flush of
// a commit; true skips it. The power-loss simulation uses it to prove that it
// notices a missing flush.
var testSkipSync func() bool

func (db *DB) flushIfSync() error {
	if !db.syncWrites {
		return nil
	}
	if testSkipSync != nil && testSkipSync() {
		return nil
	}
	if err := db.f.sync(); err != nil {
		return fmt.Errorf("kv: sync %s: the write is visible but may not be on disk: %w", db.f.path, err)
	}
	return nil
}

func applyLog(m *mapping, entries []byte) {
	for p := 0; p+16 <= len(entries); p += 16 {
		m.store(le.Uint64(entries[p:]), le.Uint64(entries[p+8:]))
	}
}

// logRegion returns a log region large enough for the pending writes, moving
// the log to a larger fresh region when it has outgrown its own.
func (t *txn) logRegion() (uint64, error) {
	for {
		off, capacity := t.word(hdrLogOff), t.word(hdrLogCap)
		need := uint64(logEntries + 16*t.ov.distinct)
		if need <= capacity {
			if off%PageSize != 0 || off < PageSize || off+capacity > t.limit {
				corruptf("log region %d+%d outside the file", off, capacity)
			}
			return off, nil
		}
		// Moving the log adds a few writes of its own; leave room for them.
		pages := int((2*need + 64*16 + PageSize - 1) / PageSize)
		fresh, err := t.bumpPages(pages)
		if err != nil {
			return 0, err
		}
		t.setWord(hdrLogOff, fresh)
		t.setWord(hdrLogCap, uint64(pages)*PageSize)
		for i := uint64(0); i < capacity/PageSize; i++ {
			t.freePage(off + i*PageSize)
		}
	}
}

// recoverLog finishes a write whose writer died after its commit point. It
// runs under the writer lock before every transaction; the common case is one
// load. A log that does not validate was never committed (a power loss can
// persist the commit word without the log) and is discarded.
func (db *DB) recoverLog() {
	m := db.f.m.Load()
	p := m.load(hdrPendingLog)
	if p == 0 {
		return
	}
	db.f.ensure(int64(m.load(hdrFileSize)))
	m = db.f.m.Load()
	limit := uint64(db.f.limit.Load())
	if entries, ok := validLog(m, p, limit); ok {
		applyLog(m, entries)
		if db.syncWrites {
			_ = db.f.sync()
		}
		db.repairs.Add(1)
	}
	m.store(hdrPendingLog, 0)
}

// validLog returns the entries of the log at p if every part of it checks out.
func validLog(m *mapping, p, limit uint64) ([]byte, bool) {
	if p%PageSize != 0 || p < PageSize || p+logEntries > limit {
		return nil, false
	}
	if le.Uint64(m.data[p:]) != logMagic {
		return nil, false
	}
	n := le.Uint64(m.data[p+logCount:])
	if n > (limit-p-logEntries)/16 {
		return nil, false
	}
	entries := m.data[p+logEntries : p+logEntries+16*n]
	if xxhash.Sum64(entries) != le.Uint64(m.data[p+logSum:]) {
		return nil, false
	}
	for i := uint64(0); i < n; i++ {
		off := le.Uint64(entries[16*i:])
		if off%8 != 0 || off < hdrFixedEnd || off+8 > limit || off == hdrPendingLog {
			return nil, false
		}
	}
	return entries, true
}

// pendingLogValid reports, without writing, whether the file holds a committed
// write that the next writer will finish.
func pendingLogValid(m *mapping, limit uint64) bool {
	p := m.load(hdrPendingLog)
	if p == 0 {
		return false
	}
	_, ok := validLog(m, p, limit)
	return ok
}
