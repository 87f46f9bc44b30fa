//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The floor of a durable write on this disk: what a store cannot beat if
// each write it acknowledges must reach the device on its own. It is a
// "store" only so that it runs and is reported beside the others.

const (
	floorPage     = 4096
	floorPages    = 1024 // a 4 MiB file
	floorFileName = "floor.dat"
)

func init() {
	register(&Peer{
		Name:        floorName,
		Order:       -1, // first: the column every durable figure is read against
		Open:        openFloor,
		Durable:     true,
		DurableOnly: true,
		Baseline:    true,
		WhyNot:      "a baseline: one writer only",
		Notes: "baseline, not a key-value store: each Put is one pwrite of 4 KiB at a page chosen by the key " +
			"in a 4 MiB file written and fsynced beforehand, then one fdatasync (durable workload only)",
	})
}

var errFloorNoReads = errors.New("floor: a baseline, not a key-value store: it has no reads or batches")

// floorStore overwrites pages of a file whose blocks are allocated and
// written already, so that fdatasync has only data to write and the
// device's cache to flush: no extent conversion, no journal commit.
type floorStore struct {
	f       *os.File
	fd      int
	buf     []byte
	flushes int64
}

func openFloor(cfg Config) (Store, error) {
	if cfg.ReadOnly {
		return nil, errFloorNoReads
	}
	path := filepath.Join(cfg.Dir, floorFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	s := &floorStore{f: f, fd: int(f.Fd()), buf: make([]byte, floorPage)}
	fi, err := f.Stat()
	if err == nil && (cfg.Fresh || fi.Size() < floorPage*floorPages) {
		err = s.prefill()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("floor: prepare %s: %w", path, err)
	}
	return s, nil
}

// prefill writes every page and fsyncs the file, so that its blocks and
// its size are on the device before the first measured write.
func (s *floorStore) prefill() error {
	page := make([]byte, floorPage)
	for i := range page {
		page[i] = byte(i*7 + 1)
	}
	for p := int64(0); p < floorPages; p++ {
		if _, err := s.f.WriteAt(page, p*floorPage); err != nil {
			return err
		}
	}
	return s.f.Sync()
}

func (s *floorStore) Get(dst, key []byte) ([]byte, bool, error) { return dst, false, errFloorNoReads }

func (s *floorStore) Batch(keys, values [][]byte) error { return errFloorNoReads }

// Put writes one 4 KiB page holding value, at a page the key picks, and
// flushes it with fdatasync.
func (s *floorStore) Put(key, value []byte) error {
	copy(s.buf, value)
	off := int64(binary.BigEndian.Uint64(key[:8])%floorPages) * floorPage
	for done := 0; done < len(s.buf); {
		n, err := unix.Pwrite(s.fd, s.buf[done:], off+int64(done))
		if err != nil {
			return fmt.Errorf("floor: pwrite: %w", err)
		}
		done += n
	}
	if err := unix.Fdatasync(s.fd); err != nil {
		return fmt.Errorf("floor: fdatasync: %w", err)
	}
	s.flushes++
	return nil
}

// Commits returns the flushes done through this handle: one per Put.
func (s *floorStore) Commits() (int64, error) { return s.flushes, nil }

func (s *floorStore) Close() error { return s.f.Close() }
