//go:build unix

package kv

import (
	"os"
	"runtime/debug"
)

// Stats describes the store at one moment. Counters are read without a lock,
// so while writers run they may be a write apart from each other.
type Stats struct {
	Keys     int64 // live keys
	FileSize int64 // bytes in use by the file (the header's size)
	PageSize int
	MaxSize  int64 // the file's bound, 0 if none

	UsedBytes int64 // bytes of allocated pages: header, log, slots, records
	FreeBytes int64 // FileSize - UsedBytes: free pages and the unallocated tail
	LiveBytes int64 // bytes of record space held by live records
	Pages     int64 // FileSize / PageSize
	FreePages int64 // pages on the free list

	Slots    int64   // slots in the index table
	SlotLoad float64 // slots in use / Slots; the table doubles past 0.75
	MaxProbe int64   // longest probe distance since the last rehash

	Evictions int64 // entries evicted to make room (cache mode)
	Expired   int64 // expired entries whose space was reclaimed
	// Hits and Misses count this handle's Gets in cache mode (Options.Evict);
	// they are per handle, not per file, so that readers share no counter.
	Hits, Misses int64

	Growths  int64 // times the file grew
	Rehashes int64 // times the index table was rebuilt
	Commits  int64 // committed write transactions

	// PendingRepair is true when a writer was killed after committing a write
	// it had not finished applying. This is a legal state: readers do not see
	// the write's missing part as damage, and the next writer finishes it.
	PendingRepair bool
	// WriterPID is the process holding the writer lock: 0 if it is free, -1 if
	// it is held by a handle that records no pid (a read-only snapshot or check).
	WriterPID int
}

// Stats returns the store's counters. It returns the zero Stats on a closed
// DB or a file that can no longer be read.
func (db *DB) Stats() (st Stats) {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed.Load() {
		return Stats{}
	}
	var err error
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	f := db.f
	m := f.m.Load()
	f.ensure(int64(m.load(hdrFileSize)))
	m = f.m.Load()
	w := func(off uint64) int64 { return int64(m.load(off)) }
	_, log2 := tableParts(m.load(hdrTable))
	st = Stats{
		Keys:      w(hdrKeys),
		FileSize:  w(hdrFileSize),
		PageSize:  PageSize,
		MaxSize:   int64(db.maxSize),
		LiveBytes: w(hdrLiveBytes),
		FreePages: w(hdrFreePages),
		MaxProbe:  w(hdrMaxProbe),
		Growths:   w(hdrGrowths),
		Evictions: w(hdrEvictions),
		Hits:      db.hits.Load(),
		Misses:    db.misses.Load(),
		Expired:   w(hdrExpired),
		Rehashes:  w(hdrRehashes),
		Commits:   w(hdrCommits),
	}
	if log2 <= maxLog2 {
		st.Slots = 1 << log2
		st.SlotLoad = float64(st.Keys) / float64(st.Slots)
	}
	st.UsedBytes = w(hdrHighWater) - st.FreePages*PageSize
	st.FreeBytes = st.FileSize - st.UsedBytes
	st.Pages = st.FileSize / PageSize
	st.PendingRepair = db.pendingRepair()
	st.WriterPID = db.writerPID(m)
	return st
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
