//go:build unix

package kv

import "runtime/debug"

// Stats describes the store at one moment. It is read without a lock, so
// while writers run its figures may be a write apart from each other.
type Stats struct {
	// Keys counts live keys: present, not expired, not being computed.
	Keys int64
	// ExpiredKeys counts records whose expiry has passed but whose space the
	// writers have not reclaimed yet (they are invisible to every read).
	ExpiredKeys int64
	// Leases counts keys a GetOrCompute is computing (invisible to reads).
	Leases int64

	FileSize int64 // bytes in use by the file (the header's size)
	PageSize int
	MaxSize  int64 // the file's bound, 0 if none
	Evict    bool  // the file is a cache: at MaxSize writes evict (Options.Evict)

	UsedBytes int64 // bytes of allocated pages: header, log, slots, records
	FreeBytes int64 // FileSize - UsedBytes: free pages and the unallocated tail
	LiveBytes int64 // bytes of record space held by records
	Pages     int64 // FileSize / PageSize
	FreePages int64 // pages on the free list

	Slots    int64   // slots in the index table
	SlotLoad float64 // slots in use / Slots; the table doubles past 0.75 (a cache evicts there)
	MaxProbe int64   // an upper bound of the probe distance of every key

	Evictions int64 // entries evicted to make room (cache mode)
	Expired   int64 // expired entries whose space was reclaimed
	// Hits and Misses count the Gets that found and did not find their key,
	// in cache mode, over every handle of every process that may write the
	// file: each handle adds its counts every 64 reads and when it closes
	// (docs/cache.md, "Rules"). A read-only handle's reads count in its
	// own Stats only.
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

// Stats returns the store's figures. It returns the zero Stats on a closed
// DB or a file that can no longer be read. Its counters cost a few loads; in a
// file with expiring records, telling live keys from expired ones costs a pass
// over the slot table and a read of each record that carries an expiry (about
// a millisecond per ten thousand of them).
func (db *DB) Stats() (st Stats) {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed.Load() {
		return Stats{}
	}
	var err error
	defer db.catchFault(&err, debug.SetPanicOnFault(true))
	db.flushCounters()
	f := db.f
	m := f.m.Load()
	f.ensure(int64(m.load(hdrFileSize)))
	m = f.m.Load()
	w := func(off uint64) int64 { return int64(m.load(off)) }
	tw := m.load(hdrTable)
	_, log2 := tableParts(tw)
	st = Stats{
		FileSize:  w(hdrFileSize),
		PageSize:  PageSize,
		MaxSize:   int64(db.maxSize),
		Evict:     db.evict,
		LiveBytes: w(hdrLiveBytes),
		FreePages: w(hdrFreePages),
		MaxProbe:  w(hdrMaxProbe),
		Growths:   w(hdrGrowths),
		Evictions: w(hdrEvictions),
		Expired:   w(hdrExpired),
		Rehashes:  w(hdrRehashes),
		Commits:   w(hdrCommits),
		Leases:    w(hdrLeases),
	}
	if db.evict {
		st.Hits, st.Misses = w(hdrHits), w(hdrMisses)
		if db.readOnly {
			st.Hits += db.hits.unflushed()
			st.Misses += db.misses.unflushed()
		}
	}
	slotsUsed := w(hdrKeys)
	if w(hdrTTLKeys) > 0 {
		st.ExpiredKeys = db.countExpired(tw, nowMillis())
	}
	st.Keys = max(slotsUsed-st.Leases-st.ExpiredKeys, 0)
	if log2 <= maxLog2 {
		st.Slots = 1 << log2
		st.SlotLoad = float64(slotsUsed) / float64(st.Slots)
	}
	st.UsedBytes = w(hdrHighWater) - st.FreePages*PageSize
	st.FreeBytes = st.FileSize - st.UsedBytes
	st.Pages = st.FileSize / PageSize
	st.PendingRepair = db.pendingRepair()
	st.WriterPID = db.writerPID(m)
	return st
}

// countExpired counts the records of table tw whose expiry has passed, leases
// apart, reading only the records whose slot says they carry an expiry. A
// slot a writer changes meanwhile may be counted as it was or as it is.
func (db *DB) countExpired(tw uint64, now int64) int64 {
	toff, log2 := tableParts(tw)
	if !tableInFile(db.f, toff, log2) {
		return 0
	}
	m := db.f.m.Load()
	var n int64
	for i := uint64(0); i < 1<<log2; i++ {
		s := m.load(toff + 8*i)
		if s&expiresBit == 0 {
			continue
		}
		b, ok := db.f.span(slotOff(s), recHeader+8)
		if !ok {
			continue
		}
		if r, ok := parseRecordHeader(b); ok && r.flags&recPending == 0 && r.flags&recExpires != 0 && r.expiry <= now {
			n++
		}
	}
	return n
}
