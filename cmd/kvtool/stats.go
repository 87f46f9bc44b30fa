package main

import "github.com/mapkv/mapkv/kv"

// This file is where kvtool meets the kv.Stats of the library it is built
// with. The library is gaining fields (docs/cli.md, "stat"); each marked line
// below is the one to change when its field lands, and nothing else in kvtool
// needs to.

// fileWideHits is true when kv.Stats.Hits and Misses count every process's
// Gets on the file. While kv counts them per handle, a kvtool handle's are
// its own (none), so stat and top print no hits, misses or hit ratio.
const fileWideHits = true

// fileStats is what stat and top report: kv.Stats and what kvtool works out
// about the file where kv does not say it yet.
type fileStats struct {
	kv.Stats
	modeKnown bool // cache is known
	cache     bool // the file evicts at its max size (Options.Evict)

	live  int64 // keys a reader sees: Keys without expired keys and leases
	split bool  // expired and leases are known apart
	// expired is expired keys not yet swept; leases are GetOrCompute leases.
	// Without split, expired holds both: the records Keys counts that no
	// reader sees.
	expired, leases int64
}

// readStats gathers the statistics of db, open on path. With scan it counts
// the live keys by reading them all (ForEach) where kv cannot say how many
// there are; top, which reads statistics many times a second, does not.
func readStats(db *kv.DB, path string, scan bool) (fileStats, error) {
	f := fileStats{Stats: db.Stats()}
	f.cache, f.modeKnown = evictMode(path, f.Stats)
	f.live, f.expired, f.leases, f.split = f.Keys, f.ExpiredKeys, f.Leases, true
	return f, nil
}

// evictMode reports whether the file at path is a cache, and whether that is
// known. kv does not report the mode yet, but refuses to open a file that was
// created without Evict with Options.Evict set: one more read-only open tells.
func evictMode(path string, s kv.Stats) (cache, known bool) {
	return s.Evict, true
}
