package main

import (
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

var boltBucket = []byte("b")

func init() {
	for i, noSync := range []bool{true, false} {
		name, notes := "bbolt-nosync", "NoSync: no fsync per commit (same durability as mapkv without Sync)"
		if !noSync {
			name, notes = "bbolt", "default options: fsync on every commit"
		}
		register(&Peer{
			Name:  name,
			Order: 10 + i,
			Open: func(cfg Config) (Store, error) {
				return openBolt(cfg, noSync)
			},
			WhyNot: "a read-write Open takes an exclusive flock and a read-only Open a shared one: " +
				"a second process cannot open the file while a writer has it open",
			Notes:         notes,
			Durable:       !noSync,
			ConcurrentPut: true,
		})
	}
}

type boltStore struct {
	db   *bolt.DB
	path string
}

func openBolt(cfg Config, noSync bool) (Store, error) {
	path := filepath.Join(cfg.Dir, "bolt.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  5 * time.Second,
		NoSync:   noSync,
		ReadOnly: cfg.ReadOnly,
	})
	if err != nil {
		return nil, err
	}
	if !cfg.ReadOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(boltBucket)
			return err
		})
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	return &boltStore{db: db, path: path}, nil
}

func (s *boltStore) Get(dst, key []byte) ([]byte, bool, error) {
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		// The value lives in the mapping only while tx is open: copy it.
		if v := tx.Bucket(boltBucket).Get(key); v != nil {
			dst = append(dst, v...)
			found = true
		}
		return nil
	})
	return dst, found, err
}

func (s *boltStore) Put(key, value []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(boltBucket).Put(key, value)
	})
}

func (s *boltStore) Batch(keys, values [][]byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(boltBucket)
		for i := range keys {
			if err := b.Put(keys[i], values[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *boltStore) Snapshot(dst string) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.CopyFile(dst, os.FileMode(0o600))
	})
}

// Commits returns the ID of the last committed write transaction.
func (s *boltStore) Commits() (n int64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		n = int64(tx.ID())
		return nil
	})
	return n, err
}

// DataFile returns the database file.
func (s *boltStore) DataFile() string { return s.path }

func (s *boltStore) Close() error { return s.db.Close() }
