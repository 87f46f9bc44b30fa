package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Store is what the driver needs from a key-value store. An adapter is used
// by one goroutine at a time, except that Put may be called from several
// goroutines at once on the adapters whose Peer sets ConcurrentPut.
type Store interface {
	// Get appends the value stored under key to dst and returns it.
	// found is false, with a nil error, when the key is absent.
	Get(dst, key []byte) (val []byte, found bool, err error)
	// Put stores value under key, one operation per call.
	Put(key, value []byte) error
	// Batch stores every pair in one transaction where the store has
	// them (one round trip for Redis, a loop of Puts for pogreb).
	Batch(keys, values [][]byte) error
	// Close releases the store. Files stay on disk for the next Open.
	Close() error
}

// Snapshotter is implemented by stores that can write a consistent copy of
// themselves to a new file while open.
type Snapshotter interface {
	Snapshot(dst string) error
}

// Config says where and how to open a store.
type Config struct {
	Dir      string // the store's own directory, created by the driver
	ReadOnly bool   // open for reading only (the reader process)
	Fresh    bool   // the store starts empty (Redis flushes; files are new anyway)
	Socket   string // Redis unix socket
}

// Peer describes one store in the comparison.
type Peer struct {
	Name  string
	Order int // position in tables: mapkv first
	Open  func(cfg Config) (Store, error)
	// MultiProcess is true when a second process may read the same
	// store while this one writes. WhyNot says why not otherwise.
	MultiProcess bool
	WhyNot       string
	// Unavailable, when set, says why this peer cannot run here.
	Unavailable string
	// Notes are the settings a reader of the results should know.
	Notes string
	// SnapshotSyncs is true when the store's Snapshot flushes the copy to
	// the device before it returns; it is then compared with
	// copy_file_range followed by fsync.
	SnapshotSyncs bool
	// InMemory is true for stores that keep no file (Redis): the size
	// column then reports the server's memory.
	InMemory bool
	// Durable is true when every commit is on the device before it
	// returns: these stores run the durable-put workload (with -durable).
	Durable bool
	// DurableOnly marks a variant that exists for the durable workload
	// (mapkv-sync, lmdb-sync): it is not in the default set of stores,
	// and when it runs (-durable, or named in -stores) it runs only the
	// batched load and the durable writes.
	DurableOnly bool
	// ConcurrentPut is true when Put may be called from several goroutines
	// at once on one handle: the durable writes then run 4 goroutines on
	// one handle as well as one writer.
	ConcurrentPut bool
	// Baseline marks a lower bound measured beside the stores (the floor of
	// a durable write: pwrite and fdatasync), not a key-value store: it
	// has no reads, no batched load and one writer only.
	Baseline bool
}

var peers = map[string]*Peer{}

func register(p *Peer) {
	if _, dup := peers[p.Name]; dup {
		panic("bench: duplicate peer " + p.Name)
	}
	peers[p.Name] = p
}

// allPeers returns the registered peers in table order.
func allPeers() []*Peer {
	var ps []*Peer
	for _, p := range peers {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Order != ps[j].Order {
			return ps[i].Order < ps[j].Order
		}
		return ps[i].Name < ps[j].Name
	})
	return ps
}

// errReadOnly is returned by writes to a store opened read-only.
var errReadOnly = errors.New("bench: store opened read-only")

// dirSize returns the apparent size (sum of st_size) and the allocated
// size (blocks on disk) of the regular files under dir.
func dirSize(dir string) (apparent, allocated int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		apparent += fi.Size()
		allocated += allocatedSize(fi)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return apparent, allocated, nil
}
