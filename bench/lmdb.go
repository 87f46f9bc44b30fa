//go:build cgo

package main

import (
	"os"
	"path/filepath"

	"github.com/PowerDNS/lmdb-go/lmdb"
)

func init() {
	register(&Peer{
		Name:         "lmdb",
		Order:        20,
		Open:         func(cfg Config) (Store, error) { return openLMDB(cfg, true) },
		MultiProcess: true,
		Notes: "lmdb-go (cgo), NoSync|NoMetaSync (no fsync per commit), 16 GiB map; " +
			"Get renews one read transaction per call and copies the value out",
	})
	register(&Peer{
		Name:          "lmdb-sync",
		Order:         21,
		Open:          func(cfg Config) (Store, error) { return openLMDB(cfg, false) },
		MultiProcess:  true,
		Durable:       true,
		DurableOnly:   true,
		ConcurrentPut: true,
		Notes: "lmdb-go (cgo), default flags (durable commit: data pages and meta page synced per transaction), " +
			"16 GiB map; concurrent Puts are write transactions of their own, one at a time (LMDB's writer mutex), " +
			"in goroutines of one handle or in processes of their own (durable workload only)",
	})
}

type lmdbStore struct {
	env *lmdb.Env
	dir string
	dbi lmdb.DBI
	rtx *lmdb.Txn // a read transaction kept between Gets, reset when idle
}

// openLMDB opens the environment in cfg.Dir; noSync sets
// MDB_NOSYNC|MDB_NOMETASYNC, otherwise every commit is durable.
func openLMDB(cfg Config, noSync bool) (Store, error) {
	env, err := lmdb.NewEnv()
	if err != nil {
		return nil, err
	}
	if err := env.SetMapSize(16 << 30); err != nil {
		env.Close()
		return nil, err
	}
	var flags uint
	if noSync {
		flags |= lmdb.NoSync | lmdb.NoMetaSync
	}
	if cfg.ReadOnly {
		flags |= lmdb.Readonly
	}
	if err := env.Open(cfg.Dir, flags, 0o600); err != nil {
		env.Close()
		return nil, err
	}
	s := &lmdbStore{env: env, dir: cfg.Dir}
	open := env.Update
	if cfg.ReadOnly {
		open = env.View
	}
	err = open(func(txn *lmdb.Txn) (err error) {
		s.dbi, err = txn.OpenRoot(0)
		return err
	})
	if err != nil {
		env.Close()
		return nil, err
	}
	s.rtx, err = env.BeginTxn(nil, lmdb.Readonly)
	if err != nil {
		env.Close()
		return nil, err
	}
	s.rtx.RawRead = true
	s.rtx.Reset()
	return s, nil
}

func (s *lmdbStore) Get(dst, key []byte) ([]byte, bool, error) {
	if err := s.rtx.Renew(); err != nil {
		return dst, false, err
	}
	defer s.rtx.Reset()
	v, err := s.rtx.Get(s.dbi, key)
	if lmdb.IsNotFound(err) {
		return dst, false, nil
	}
	if err != nil {
		return dst, false, err
	}
	return append(dst, v...), true, nil
}

func (s *lmdbStore) Put(key, value []byte) error {
	return s.env.Update(func(txn *lmdb.Txn) error {
		return txn.Put(s.dbi, key, value, 0)
	})
}

func (s *lmdbStore) Batch(keys, values [][]byte) error {
	return s.env.Update(func(txn *lmdb.Txn) error {
		for i := range keys {
			if err := txn.Put(s.dbi, keys[i], values[i], 0); err != nil {
				return err
			}
		}
		return nil
	})
}

// Snapshot writes a copy of the environment to the new file dst
// (mdb_env_copyfd: a consistent copy taken in a read transaction).
func (s *lmdbStore) Snapshot(dst string) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := s.env.CopyFDFlag(f.Fd(), 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Commits returns the ID of the last committed write transaction: LMDB
// numbers every commit of every process.
func (s *lmdbStore) Commits() (int64, error) {
	info, err := s.env.Info()
	if err != nil {
		return 0, err
	}
	return info.LastTxnID, nil
}

// DataFile returns the environment's data file.
func (s *lmdbStore) DataFile() string { return filepath.Join(s.dir, "data.mdb") }

func (s *lmdbStore) Close() error {
	s.rtx.Abort()
	return s.env.Close()
}
