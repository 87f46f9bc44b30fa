package main

import (
	"errors"
	"path/filepath"

	"github.com/mapkv/mapkv/kv"
)

func init() {
	register(&Peer{
		Name:          "mapkv",
		Order:         0,
		Open:          func(cfg Config) (Store, error) { return openMapkv(cfg, false) },
		MultiProcess:  true,
		SnapshotSyncs: true,
		Notes: "default Options (no Sync: a write survives a process crash, not a power loss); " +
			"Get is AppendGet into a reused buffer; Batch is one Update; Snapshot syncs the copy and renames it",
	})
	register(&Peer{
		Name:          "mapkv-sync",
		Order:         1,
		Open:          func(cfg Config) (Store, error) { return openMapkv(cfg, true) },
		MultiProcess:  true,
		Durable:       true,
		DurableOnly:   true,
		ConcurrentPut: true,
		Notes: "Options{Sync: true}: every commit is on the device before it returns; goroutines of one handle " +
			"that write at once share one commit (group commit); durable workload only",
	})
}

type mapkvStore struct{ db *kv.DB }

func openMapkv(cfg Config, sync bool) (Store, error) {
	db, err := kv.Open(filepath.Join(cfg.Dir, "data.mapkv"), &kv.Options{ReadOnly: cfg.ReadOnly, Sync: sync && !cfg.ReadOnly})
	if err != nil {
		return nil, err
	}
	return &mapkvStore{db: db}, nil
}

func (s *mapkvStore) Get(dst, key []byte) ([]byte, bool, error) {
	v, err := s.db.AppendGet(dst, key)
	if errors.Is(err, kv.ErrNotFound) {
		return dst, false, nil
	}
	return v, err == nil, err
}

// GetCopy is kv's Get, which returns a new slice: the get-hit-copy row.
func (s *mapkvStore) GetCopy(key []byte) ([]byte, error) { return s.db.Get(key) }

func (s *mapkvStore) Put(key, value []byte) error { return s.db.Put(key, value) }

func (s *mapkvStore) Batch(keys, values [][]byte) error {
	return s.db.Update(func(tx *kv.Tx) error {
		for i := range keys {
			if err := tx.Put(keys[i], values[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *mapkvStore) Snapshot(dst string) error { return s.db.Snapshot(dst) }

// ExtraSnapshots are the other copies kv offers, measured beside the plain
// one. (How a plain copy is written is kv's choice; kv's own benchmarks,
// BenchmarkSnapshotWrite and BenchmarkSnapshotMmap, compare the two ways.)
func (s *mapkvStore) ExtraSnapshots() map[string]func(dst string) error {
	return map[string]func(dst string) error{
		"Snapshot(Compact)": s.db.SnapshotCompact,
	}
}

// Commits returns the transactions committed to the file by every handle
// of every process (Stats.Commits).
func (s *mapkvStore) Commits() (int64, error) { return s.db.Stats().Commits, nil }

// DataFile returns the store's file.
func (s *mapkvStore) DataFile() string { return s.db.Path() }

func (s *mapkvStore) Close() error { return s.db.Close() }
