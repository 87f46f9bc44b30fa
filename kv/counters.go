//go:build unix

package kv

import "sync/atomic"

// Cache-mode read counters for the whole file. Each handle counts its Gets in
// process memory and adds them to the header's words (hdrHits, hdrMisses)
// with one atomic add per counterFlush reads, and at Stats and Close, so that
// readers on different CPUs and in different processes do not contend for
// one cache line on every read. The file's counters therefore lag by at most
// counterFlush-1 reads per open handle. A read-only handle may not write the
// file: its reads are counted in its own Stats only.

// counterFlush is how many reads a handle counts before it adds them to the
// file's counters.
const counterFlush = 64

// readCounter is one of a handle's read counters.
type readCounter struct {
	n, flushed atomic.Int64
}

// count adds one read, and every counterFlush reads adds them to the file.
func (c *readCounter) count(db *DB, off uint64) {
	if c.n.Add(1)%counterFlush == 0 && !db.readOnly {
		c.flush(db, off)
	}
}

// flush adds the reads not yet in the file's word at off.
func (c *readCounter) flush(db *DB, off uint64) {
	n := c.n.Load()
	if d := n - c.flushed.Swap(n); d > 0 {
		atomic.AddUint64(db.f.m.Load().word(off), uint64(d))
	}
}

// unflushed is what this handle counted that the file's word lacks.
func (c *readCounter) unflushed() int64 { return c.n.Load() - c.flushed.Load() }

// flushCounters adds every read this handle counted to the file.
func (db *DB) flushCounters() {
	if db.evict && !db.readOnly {
		db.hits.flush(db, hdrHits)
		db.misses.flush(db, hdrMisses)
	}
}
