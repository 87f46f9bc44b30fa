//go:build unix

package kv

import (
	"errors"
	"fmt"
	"slices"
)

// txn is one write transaction, run while this handle holds the writer lock.
//
// Record bytes are written straight into space that is free in the committed
// state; they are unreachable until a slot points at them. Every change to a
// metadata word (slot, allocator state, counter) goes to the overlay and
// reaches the file only at commit, through the redo log (log.go): the log is
// written, flushed when the handle has Options.Sync, then applied word by
// word. A writer killed before its log is complete leaves nothing reachable;
// one killed after it leaves a log that the next writer applies again
// (recover.go, docs/concurrency.md).
type txn struct {
	db      *DB
	ov      overlay
	seq     uint64     // this transaction's sequence number: the last applied one + 1
	frees   []freeItem // space to free at commit, so this transaction never reuses it
	undo    []wordUndo // old values of words written directly, for rollback
	extents []extent   // record bytes written in place, for the log
	fresh   [2]uint64  // a table this transaction built: written directly, not logged
	// window makes the log open a window around its apply, inside which
	// readers answer from the log (docs/concurrency.md, "Windows"): a deletion
	// moved slots, or an Update wrote more than one key.
	window bool
	keys   int  // keys this transaction wrote or deleted
	short  bool // a write found no room (cache mode evicts and runs it again)
	// needPages is what eviction must free when the transaction finds no
	// room: the pages it took before, and the most one allocation asked for.
	needPages int
	tookPages int    // pages this transaction took from the free list or the high-water mark
	wrote     bool   // commit wrote a log: watchers may have something to see
	swept     bool   // the operation swept for expired records itself
	limit     uint64 // the published file size: bytes this writer may touch
	maxSize   uint64
	payload   []byte // the log being built, kept for the next transaction
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

// begin prepares the transaction; the writer lock is held and any killed
// writer's log has been applied (recover).
func (t *txn) begin() {
	t.ov.reset()
	t.frees = t.frees[:0]
	t.undo = t.undo[:0]
	t.extents = t.extents[:0]
	t.fresh = [2]uint64{}
	t.window = false
	t.keys = 0
	t.short = false
	t.needPages = 0
	t.tookPages = 0
	t.wrote = false
	t.swept = false
	f := t.db.f
	m := f.m.Load()
	size := m.load(hdrFileSize)
	if size < MinFileSize || size%PageSize != 0 || size > maxFileSize || !f.ensure(int64(size)) {
		corruptf("the header's file size %d is not a size this file can have", size)
	}
	t.limit = size
	t.maxSize = t.db.maxSize
	t.seq = m.load(hdrApplied) + 1
	if hw := m.load(hdrHighWater); hw > t.limit || hw%PageSize != 0 || hw < t.db.minHW {
		corruptf("high-water mark %d outside the file (%d bytes)", hw, t.limit)
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

// setWord writes a metadata word: directly into a table this transaction
// built (nothing committed refers to it; the log carries its hash instead),
// else to the overlay.
func (t *txn) setWord(off, v uint64) {
	t.checkWord(off)
	if off >= t.fresh[0] && off < t.fresh[1] {
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
	if off+uint64(n) > t.limit || off < PageSize || off+uint64(n) < off {
		corruptf("byte range %d+%d outside the file (size %d)", off, n, t.limit)
	}
	return t.m().data[off : off+uint64(n)]
}

// savepoint and rollback make each operation inside an Update all-or-nothing.
// Fresh space an operation took lies past the restored high-water mark again,
// so only the words it wrote directly into a table it built need undoing.
type savepoint struct {
	ov                   overlayMark
	frees, undo, extents int
	fresh                [2]uint64
	window               bool
}

func (t *txn) savepoint() savepoint {
	return savepoint{t.ov.mark(), len(t.frees), len(t.undo), len(t.extents), t.fresh, t.window}
}

func (t *txn) rollback(s savepoint) {
	t.window = s.window
	t.ov.rollback(s.ov)
	t.frees = t.frees[:s.frees]
	t.extents = t.extents[:s.extents]
	t.fresh = s.fresh
	m := t.m()
	for i := len(t.undo) - 1; i >= s.undo; i-- {
		m.store(t.undo[i].off, t.undo[i].old)
	}
	t.undo = t.undo[:s.undo]
}

// Test hooks, set only by tests. testStopAfterCommitPoint makes commit stop
// once its log is complete (and flushed), before it applies a word, as if the
// writer had been killed there. testSkipSync is asked before the commit's
// flush; true skips it (the power-loss simulation proves it notices).
var (
	testStopAfterCommitPoint func() bool
	testSkipSync             func() bool
)

// errSyncFailed marks a handle whose flush failed: the kernel may have
// dropped the dirty pages, so nothing this handle writes can be trusted to
// reach the disk any more.
var errSyncFailed = errors.New("an earlier flush of this handle failed")

// commit frees what the transaction released, writes the redo log, flushes it
// (Options.Sync), and applies it.
func (t *txn) commit() error {
	if t.ov.distinct == 0 && len(t.frees) == 0 {
		return nil
	}
	t.wrote = true
	// The free pages this transaction did not take: a log that outgrows its
	// region may borrow them until it is applied.
	freeRest := t.word(hdrFreeHead)
	t.dropDeadExtents()
	for _, fr := range t.frees {
		t.freeNow(fr)
	}
	t.frees = t.frees[:0]
	t.addWord(hdrCommits, 1)
	overflow, err := t.overflowFor(freeRest)
	if err != nil {
		return err
	}
	nEntries, nExtents := t.encodeLog()
	db := t.db
	m := t.m()
	logBase := regionOff(t.seq, db.logPages)
	logWriter{m: m, base: logBase, logPages: db.logPages, overflow: overflow}.write(t.seq, nEntries, nExtents, t.payload)
	for _, p := range overflow {
		m.add(p+pageGen, 1) // the page was rewritten: a stale reader there must notice
	}
	if db.syncWrites && (testSkipSync == nil || !testSkipSync()) {
		// The one flush of a durable commit: the records, a fresh table and
		// the log reach the disk together. Until it returns nothing is
		// applied in place, so a power loss leaves either this whole log,
		// which recovery applies, or none of it.
		if err := db.f.sync(); err != nil {
			m.store(logBase, 0) // never replay a commit reported as failed
			db.syncErr.Store(&err)
			return fmt.Errorf("kv: sync %s: the write was not committed: %w", db.f.path, err)
		}
	}
	if testStopAfterCommitPoint != nil && testStopAfterCommitPoint() {
		return nil // a test leaves the file as a writer killed here would
	}
	applyLog(m, logRecord{entries: t.payload[:nEntries*entrySize]})
	if len(overflow) > 0 && db.syncWrites {
		// The borrowed pages become reusable now: the words this log changed
		// in place must be on disk before anything overwrites the log.
		if err := db.f.sync(); err != nil {
			db.syncErr.Store(&err)
			return fmt.Errorf("kv: sync %s: the write is visible but may not be on disk: %w", db.f.path, err)
		}
	}
	return nil
}

// dropDeadExtents leaves out of the log the records this transaction wrote
// and freed itself (a key written twice in one Update): once the log commits
// their space is free, and a later write may overwrite it, so their hashes
// say nothing about whether this log was flushed.
func (t *txn) dropDeadExtents() {
	if len(t.frees) == 0 || len(t.extents) == 0 {
		return
	}
	dead := func(off uint64) bool {
		for _, fr := range t.frees {
			if fr.size > 0 && fr.off == off {
				return true
			}
		}
		return false
	}
	if len(t.frees)*len(t.extents) > 256 {
		freed := make(map[uint64]bool, len(t.frees))
		for _, fr := range t.frees {
			if fr.size > 0 {
				freed[fr.off] = true
			}
		}
		dead = func(off uint64) bool { return freed[off] }
	}
	t.extents = slices.DeleteFunc(t.extents, func(e extent) bool { return dead(e.off) })
}

// fixedEntries counts the entries every log carries besides the overlay's.
func (t *txn) fixedEntries() int {
	if t.window {
		return 4
	}
	return 2
}

// encodeLog builds the payload: the entries in the order the readers need,
// then the extents: every byte range the transaction wrote in place (its
// records, a table it built) with their hashes. Recovery needs their places
// on any file (an older log's words there are dead once this one is
// committed) and their hashes after a power loss.
//
//	hdrApplying = seq             (View sees a commit in progress)
//	hdrFileSize                   (if it grew: before anything beyond the old end)
//	hdrWindowStart = seq          (if the log needs a window: opens it)
//	the overlay, in the order of each word's first write
//	hdrWindowEnd = seq              (closes the move window)
//	hdrApplied = seq              (the log is applied: recovery looks for seq+1)
func (t *txn) encodeLog() (nEntries, nExtents int) {
	p := t.payload[:0]
	put := func(off, v uint64) {
		p = le.AppendUint64(p, off)
		p = le.AppendUint64(p, v)
	}
	put(hdrApplying, t.seq)
	size, grew := t.ov.get(hdrFileSize)
	if grew {
		put(hdrFileSize, size)
	}
	if t.window {
		put(hdrWindowStart, t.seq)
	}
	t.ov.each(func(off, v uint64) {
		if off != hdrFileSize {
			put(off, v)
		}
	})
	if t.window {
		put(hdrWindowEnd, t.seq)
	}
	put(hdrApplied, t.seq)
	nEntries = len(p) / entrySize
	for _, e := range t.extents {
		p = le.AppendUint64(p, e.off)
		p = le.AppendUint64(p, e.size)
		p = le.AppendUint64(p, e.hash)
	}
	nExtents = len(t.extents)
	if t.fresh[1] > t.fresh[0] {
		b := t.bytes(t.fresh[0], int(t.fresh[1]-t.fresh[0]))
		p = le.AppendUint64(p, t.fresh[0])
		p = le.AppendUint64(p, uint64(len(b))|extentTable)
		p = le.AppendUint64(p, tableHash(b))
		nExtents++
	}
	t.payload = p
	return nEntries, nExtents
}

// logBytes is the size of the payload encodeLog will build.
func (t *txn) logBytes() int {
	n := (t.ov.distinct+t.fixedEntries())*entrySize + len(t.extents)*extentSize
	if t.fresh[1] > t.fresh[0] {
		n += extentSize
	}
	return n
}

// overflowFor finds the pages a log too large for its region continues in:
// free pages this transaction did not take, then fresh pages above the
// high-water mark, growing the file (a logged change) when both fall short.
// Nothing in the committed state refers to any of them, and the transaction
// does not mark them used: they serve only until the log is applied.
func (t *txn) overflowFor(freeRest uint64) ([]uint64, error) {
	for attempt := 0; ; attempt++ {
		k := overflowPages(t.logBytes(), t.db.logPages)
		if k == 0 {
			return nil, nil
		}
		t.needPages = max(t.needPages, t.tookPages+k)
		pages := make([]uint64, 0, k)
		for p, steps := freeRest, 0; p != 0 && len(pages) < k; steps++ {
			if steps > int(t.limit/PageSize) {
				corruptf("the free list loops")
			}
			t.checkFreePage(p)
			pages = append(pages, p)
			p = t.word(p + 8)
		}
		for hw := t.word(hdrHighWater); len(pages) < k && hw+PageSize <= t.limit; hw += PageSize {
			pages = append(pages, hw)
		}
		if len(pages) == k {
			return pages, nil
		}
		if attempt > 0 {
			return nil, fmt.Errorf("kv: %s: the log of this transaction needs %d more pages than the file can hold: %w", t.db.f.path, k-len(pages), ErrFull)
		}
		if err := t.grow(t.limit + uint64(k-len(pages)+2)*PageSize); err != nil {
			return nil, err
		}
	}
}
