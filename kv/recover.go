//go:build unix

package kv

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sys/unix"
)

// Recovery: finishing the commit of a writer that died, or that a power loss
// cut short (docs/concurrency.md, "Process death" and "Power loss").
//
// Two paths. Before every write, under the writer lock, a writer checks
// whether the log after hdrApplied is there and whole: a writer killed after
// its log was complete left it unapplied, or partly applied. The page cache
// outlives any process, so the words in memory are those the dead writer
// stored, and applying its log again finishes it (each entry holds a final
// value). The common case costs two loads.
//
// After a power loss the words on disk are a mixture: any page may hold its
// state from before or after the last flush, hdrApplied included. Only the
// two logs are to be trusted, and only as far as they check out. Open, under
// the writer lock, therefore looks at both (recoverLogs): if the words they
// name already hold the values they give, as they do on a live file, there
// is nothing to do; otherwise it applies them again, oldest first, while a
// move window keeps readers on the state after the last one.

// recoverPending applies the log after hdrApplied if it is there and whole,
// as a writer killed after writing it left it. It reports whether it did. A
// replay is flushed to disk before the caller writes anything, since the
// next log overwrites the older of the two regions.
func (db *DB) recoverPending() (bool, error) {
	l, ok := db.nextLog(true)
	if !ok {
		return false, nil
	}
	if err := db.replay(l); err != nil {
		return false, err
	}
	db.repairs.Add(1)
	if err := db.f.sync(); err != nil {
		return true, fmt.Errorf("kv: sync %s after finishing an interrupted write: %w", db.f.path, err)
	}
	return true, nil
}

// nextLog returns the log after hdrApplied if it is there and whole. With
// durable, the bytes it refers to must hold what it says (a power loss can
// keep a log and lose the records it points at); a handle that only checks
// for a killed writer's log (Stats, a read-only Check) skips that.
func (db *DB) nextLog(durable bool) (logRecord, bool) {
	m := db.f.m.Load()
	seq := m.load(hdrApplied) + 1
	base := regionOff(seq, db.logPages)
	if m.load(base) != logMagic || m.load(base+logSeqOff) != seq {
		return logRecord{}, false
	}
	l, span, ok := db.readRegionLog(seq)
	if !ok || durable && !extentsHold(l, span) {
		return logRecord{}, false
	}
	return l, true
}

// readRegionLog reads the log of seq from its region, bounded by the file's
// real length.
func (db *DB) readRegionLog(seq uint64) (logRecord, func(uint64, int) ([]byte, bool), bool) {
	length, err := db.f.fileSize()
	if err != nil {
		return logRecord{}, nil, false
	}
	span := db.f.spanTo(uint64(length))
	l, ok := readLog(span, seq, db.logPages, uint64(length))
	return l, span, ok
}

// recoverLogs is Open's recovery, safe whether the file is live in other
// processes or was left by a power loss. Of the two regions' logs, the newer
// (L) and, if it is L's predecessor, the older (P): if every word they change
// already holds its final value, nothing is done. Otherwise:
//
//   - L whole, its records and fresh table on disk as its hashes say: L was
//     committed; P's words may not all be on disk (L's flush is what makes
//     them so), so P (if it checks out) and then L are applied.
//   - L's records not on disk: L's flush never completed, so L was never
//     committed and none of its words were applied; P's were perhaps not all
//     flushed, so P is applied, and L is erased so that nobody looks at it
//     again.
//
// A log whose records fail their hashes is never applied, and an older log
// is never applied after a newer one.
//
// hdrApplied (A) bounds what can be needed. It is stored, as the last entry
// of log A, only after log A's flush, which made every word of log A-1
// durable: a log older than A is never needed, and must not be applied (once
// log A is applied, the space log A-1 or A itself freed may have been reused
// by a write that never committed, so their words there are not the
// file's). A log no newer than A was committed: it is applied again if its
// words do not all hold, whatever its hashes say now (its records may have
// been freed since and overwritten by such a write). Only log A+1's hashes
// decide whether it was committed.
func (db *DB) recoverLogs() (bool, error) {
	m := db.f.m.Load()
	var logs [2]logRecord
	var spans [2]func(uint64, int) ([]byte, bool)
	n := 0
	applied := m.load(hdrApplied)
	for r := uint64(0); r < 2; r++ {
		base := PageSize * (1 + r*db.logPages)
		if m.load(base) != logMagic {
			continue
		}
		seq := m.load(base + logSeqOff)
		if seq == 0 || seq%2 != r || seq < applied {
			continue
		}
		if l, span, ok := db.readRegionLog(seq); ok {
			logs[n], spans[n] = l, span
			n++
		}
	}
	if n == 0 {
		return false, nil
	}
	if n == 2 && logs[0].seq > logs[1].seq {
		logs[0], logs[1] = logs[1], logs[0]
		spans[0], spans[1] = spans[1], spans[0]
	}
	latest, older := logs[n-1], []logRecord(nil)
	both, bothSpans := logs[n-1:n], spans[n-1:n]
	if n == 2 && logs[0].seq+1 == latest.seq {
		older = logs[:1]
		both, bothSpans = logs[:2], spans[:2]
	}
	if db.applied(finalWords(both, bothSpans)) {
		return false, nil
	}
	var replay []logRecord
	var replaySpans []func(uint64, int) ([]byte, bool)
	committed := func(l logRecord, span func(uint64, int) ([]byte, bool)) bool {
		return l.seq <= applied || extentsHold(l, span)
	}
	switch {
	case committed(latest, spans[n-1]):
		if len(older) == 1 && committed(older[0], spans[0]) {
			replay, replaySpans = append(replay, older[0]), append(replaySpans, spans[0])
		}
		replay, replaySpans = append(replay, latest), append(replaySpans, spans[n-1])
	default:
		// Never committed: its flush did not complete.
		m.store(regionOff(latest.seq, db.logPages), 0)
		if len(older) == 1 && committed(older[0], spans[0]) {
			replay, replaySpans = append(replay, older[0]), append(replaySpans, spans[0])
		}
	}
	if len(replay) == 0 {
		return false, nil
	}
	before := m.load(hdrApplied)
	if err := db.replayAll(replay, finalWords(replay, replaySpans)); err != nil {
		return false, err
	}
	// Writes finished: the logs past what the header said was applied (a
	// power loss may have kept a later hdrApplied than the words it names).
	db.repairs.Add(int64(max(replay[len(replay)-1].seq-min(before, replay[len(replay)-1].seq), 1)))
	if err := db.f.sync(); err != nil {
		return true, fmt.Errorf("kv: sync %s after finishing an interrupted write: %w", db.f.path, err)
	}
	return true, nil
}

// byteRange is [lo, hi).
type byteRange struct{ lo, hi uint64 }

// footprint is where the transaction of l wrote in place, outside its
// entries: its records (a chain's pages found through the links as l leaves
// them), the table it built, and the part of its overflow pages its log
// took. An older log's entry in there is dead once l is committed, and must
// never be applied over l's bytes.
func footprint(l logRecord, span func(uint64, int) ([]byte, bool)) []byteRange {
	var out []byteRange
	links := map[uint64]uint64{}
	for i := 0; i < l.entryCount(); i++ {
		off, v := l.entry(i)
		links[off] = v
	}
	for i := 0; i+extentSize <= len(l.extents); i += extentSize {
		off, size := le.Uint64(l.extents[i:]), le.Uint64(l.extents[i+8:])
		n := size &^ extentTable
		if n > maxFileSize {
			continue
		}
		if size&extentTable != 0 || n <= uint64(maxSlabRecord) {
			out = append(out, byteRange{off, off + n})
			continue
		}
		p := off - chainHeader
		for i := 0; i < chainPages(int(n)) && p != 0; i++ {
			out = append(out, byteRange{p + chainHeader, p + PageSize})
			next, ok := links[p+chainNext]
			if !ok {
				b, ok := span(p+chainNext, 8)
				if !ok {
					break
				}
				next = le.Uint64(b)
			}
			p = next
		}
	}
	for _, p := range l.overflow {
		out = append(out, byteRange{p + overflowNext, p + PageSize})
	}
	return out
}

func inRanges(rs []byteRange, off uint64) bool {
	for _, r := range rs {
		if off >= r.lo && off < r.hi {
			return true
		}
	}
	return false
}

// finalWords is the value each word the logs change has after all of them,
// in order; a log's entries inside the next log's footprint are left out.
func finalWords(logs []logRecord, spans []func(uint64, int) ([]byte, bool)) map[uint64]uint64 {
	final := map[uint64]uint64{}
	for k, l := range logs {
		var later []byteRange
		if k+1 < len(logs) {
			later = footprint(logs[k+1], spans[k+1])
		}
		for i := 0; i < l.entryCount(); i++ {
			if off, v := l.entry(i); !inRanges(later, off) {
				final[off] = v
			}
		}
	}
	return final
}

// applied reports whether every word the logs change already holds its final
// value. Slots are compared without their use bits, which readers change
// outside the log.
func (db *DB) applied(final map[uint64]uint64) bool {
	m := db.f.m.Load()
	size, ok := final[hdrFileSize]
	if !ok {
		size = m.load(hdrFileSize)
	}
	if int64(size) > db.f.limit.Load() {
		return false // the log grew the file: not applied in this mapping
	}
	tw, ok := final[hdrTable]
	if !ok {
		tw = m.load(hdrTable)
	}
	toff, log2 := tableParts(tw)
	tend := toff + 8<<min(log2, maxLog2)
	for off, v := range final {
		if off+8 > uint64(len(m.data)) {
			return false
		}
		cur := m.load(off)
		if off >= toff && off < tend {
			if !sameSlot(cur, v) {
				return false
			}
		} else if cur != v {
			return false
		}
	}
	return true
}

// replayAll applies logs, whose final words are final, inside one move window
// of the last: a reader meanwhile answers from the last log over the table,
// which is the state after all of them, whatever part of them has been
// applied. An older log's words that the next one overwrote in place are left
// alone.
func (db *DB) replayAll(logs []logRecord, final map[uint64]uint64) error {
	last := logs[len(logs)-1]
	if size, ok := final[hdrFileSize]; ok {
		if err := db.growForReplay(last.seq, size); err != nil {
			return err
		}
	}
	m := db.f.m.Load()
	m.store(hdrWindowEnd, last.seq-1)
	m.store(hdrWindowStart, last.seq)
	for _, l := range logs {
		for i := 0; i < l.entryCount(); i++ {
			off, _ := l.entry(i)
			if v, ok := final[off]; ok && off != hdrWindowStart && off != hdrWindowEnd {
				m.store(off, v)
			}
		}
	}
	m.store(hdrWindowEnd, last.seq)
	return nil
}

// growForReplay makes the file as long as a replayed log made it, when a power
// loss kept the log but not the new length.
func (db *DB) growForReplay(seq, size uint64) error {
	if size > maxFileSize || size%PageSize != 0 || db.maxSize > 0 && size > db.maxSize {
		return fmt.Errorf("kv: %s: the log of write %d sets an impossible file size %d: %w", db.f.path, seq, size, ErrCorrupt)
	}
	if err := db.f.growTo(int64(size)); err != nil {
		return fmt.Errorf("kv: %s: finishing an interrupted write: %w", db.f.path, err)
	}
	return nil
}

// replay applies l but the words of skip, first growing the file if the log
// grew it and a power loss kept the log but not the new length.
func (db *DB) replay(l logRecord, skip ...uint64) error {
	if size, ok := l.value(hdrFileSize); ok {
		if err := db.growForReplay(l.seq, size); err != nil {
			return err
		}
	}
	m := db.f.m.Load()
	if length, err := db.f.fileSize(); err != nil || !db.f.mapped(uint64(length)) {
		return fmt.Errorf("kv: %s: finishing an interrupted write: the file cannot be mapped: %w", db.f.path, ErrCorrupt)
	}
	if len(skip) == 0 {
		applyLog(m, l)
		return nil
	}
	for i := 0; i < l.entryCount(); i++ {
		if off, v := l.entry(i); !slices.Contains(skip, off) {
			m.store(off, v)
		}
	}
	return nil
}

// extentsHold reports whether every extent of l holds the bytes its hash
// says. Chained records are read through their links as the log leaves them.
func extentsHold(l logRecord, span func(off uint64, n int) ([]byte, bool)) bool {
	var links map[uint64]uint64
	link := func(p uint64) (uint64, bool) {
		if links == nil {
			links = make(map[uint64]uint64, l.entryCount())
			for i := 0; i < l.entryCount(); i++ {
				off, v := l.entry(i)
				links[off] = v
			}
		}
		if v, ok := links[p+chainNext]; ok {
			return v, true
		}
		b, ok := span(p+chainNext, 8)
		if !ok {
			return 0, false
		}
		return le.Uint64(b), true
	}
	for i := 0; i+extentSize <= len(l.extents); i += extentSize {
		off, size, hash := le.Uint64(l.extents[i:]), le.Uint64(l.extents[i+8:]), le.Uint64(l.extents[i+16:])
		if size&extentTable != 0 {
			n := size &^ extentTable
			if n > maxFileSize || n%8 != 0 {
				return false
			}
			b, ok := span(off, int(n))
			if !ok || tableHash(b) != hash {
				return false
			}
			continue
		}
		if size < recHeader || size > recHeader+8+MaxKeySize+MaxValueSize {
			return false
		}
		if !recordHolds(off, int(size), hash, span, link) {
			return false
		}
	}
	return true
}

// recordHolds checks that the record of size bytes at off hashes to hash.
func recordHolds(off uint64, size int, hash uint64, span func(uint64, int) ([]byte, bool), link func(uint64) (uint64, bool)) bool {
	if size <= maxSlabRecord {
		b, ok := span(off, size)
		return ok && le.Uint32(b) == uint32(hash) && xxhash.Sum64(b[4:]) == hash
	}
	if off%PageSize != chainHeader {
		return false
	}
	var d xxhash.Digest
	d.Reset()
	p, done := off-chainHeader, 0
	for i := 0; i < chainPages(size); i++ {
		take := min(chainSpace, size-done)
		b, ok := span(p+chainHeader, take)
		if !ok {
			return false
		}
		if i == 0 {
			if le.Uint32(b) != uint32(hash) {
				return false
			}
			b = b[4:]
		}
		d.Write(b)
		done += take
		if p, ok = link(p); !ok && done < size {
			return false
		}
	}
	return d.Sum64() == hash
}

// pendingRepair reports, without writing, whether the file holds a killed
// writer's complete log that the next writer will apply.
func (db *DB) pendingRepair() bool {
	_, ok := db.nextLog(true)
	return ok
}

// Half-created files. A file whose creation did not finish (its creator was
// killed, or a power loss kept only part of it) is recognised by needsInit
// and initialised again, in place, under the lock.

// needsInit reports whether the file holds no store yet: empty, all zeros in
// its first page (a creation cut short before its header reached the disk),
// or a header that still says "creating". A file with any other content is
// never written here.
func needsInit(page []byte) bool {
	if len(page) < hdrFixedEnd {
		return !bytes.ContainsFunc(page, func(r rune) bool { return r != 0 })
	}
	if hasMagic(page) {
		return len(page) >= hdrState+8 && le.Uint64(page[hdrState:]) == stateCreating
	}
	return !bytes.ContainsFunc(page, func(r rune) bool { return r != 0 })
}

// initInPlace initialises an existing file while holding its writer lock on
// this descriptor; a concurrent creator waits, then finds the file ready.
func initInPlace(path string, fd int, o Options) error {
	lk := &file{path: path, fd: fd}
	if err := lk.lock(o.LockTimeout); err != nil {
		return fmt.Errorf("kv: initialise %s: %w", path, err)
	}
	defer lk.unlock()
	var page [PageSize]byte
	n, err := unix.Pread(fd, page[:], 0)
	if err != nil {
		return fmt.Errorf("kv: initialise %s: %w", path, err)
	}
	if !needsInit(page[:n]) {
		return nil // another process finished it first
	}
	if err := initFile(fd, o); err != nil {
		return fmt.Errorf("kv: initialise %s: %w", path, err)
	}
	return nil
}
