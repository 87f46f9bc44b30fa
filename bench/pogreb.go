package main

import (
	"github.com/akrylysov/pogreb"
)

func init() {
	register(&Peer{
		Name:  "pogreb",
		Order: 30,
		Open:  openPogreb,
		WhyNot: "Open takes an exclusive lock file in the directory and keeps its index in the " +
			"process: one process per database",
		Notes: "no background sync or compaction; no transactions, so a batch is a loop of Puts; " +
			"Get returns a fresh copy (no append API)",
	})
}

type pogrebStore struct {
	db       *pogreb.DB
	readOnly bool
}

func openPogreb(cfg Config) (Store, error) {
	db, err := pogreb.Open(cfg.Dir, &pogreb.Options{})
	if err != nil {
		return nil, err
	}
	return &pogrebStore{db: db, readOnly: cfg.ReadOnly}, nil
}

func (s *pogrebStore) Get(dst, key []byte) ([]byte, bool, error) {
	v, err := s.db.Get(key)
	if err != nil || v == nil {
		return dst, false, err
	}
	return append(dst, v...), true, nil
}

func (s *pogrebStore) Put(key, value []byte) error {
	if s.readOnly {
		return errReadOnly
	}
	return s.db.Put(key, value)
}

func (s *pogrebStore) Batch(keys, values [][]byte) error {
	if s.readOnly {
		return errReadOnly
	}
	for i := range keys {
		if err := s.db.Put(keys[i], values[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *pogrebStore) Close() error { return s.db.Close() }
