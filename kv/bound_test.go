//go:build unix

package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
)

// A cache at its bound (issue 11): every write of a value that fits
// succeeds at any fill and any mix of sizes, the file never passes MaxSize,
// and the most recently written keys survive.

// boundValue is a value of n bytes that names its key and writer.
func boundValue(key string, n int) []byte {
	v := make([]byte, max(n, 8))
	binary.LittleEndian.PutUint64(v, uint64(len(key)))
	copy(v[8:], key)
	return v[:n]
}

// TestCacheShiftingSizes: values whose size shifts over time, as in
// memcached's slab calcification: tiny ones, then 16 KiB, then 200 KiB, then
// tiny again, each phase writing well past MaxSize. No write fails, the file
// stays within MaxSize, Check passes, and at the end of each phase the last
// 1/8 of MaxSize written is all there.
func TestCacheShiftingSizes(t *testing.T) {
	const maxSize = 64 << 20
	small := 1 << 20
	if testing.Short() || testproc.RaceEnabled {
		small = 200_000
	}
	db, _ := openTemp(t, &Options{MaxSize: maxSize, Evict: true})
	phases := []struct {
		name  string
		size  int
		bytes int // written in the phase
	}{
		{"8 B", 8, small * 8},
		{"16 KiB", 16 << 10, 50 << 20},
		{"200 KiB", 200 << 10, 50 << 20},
		{"8 B again", 8, small * 8},
	}
	for pi, ph := range phases {
		n := max(ph.bytes/ph.size, 1)
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("p%d-%d", pi, i)
			if err := db.Put([]byte(k), boundValue(k, ph.size)); err != nil {
				t.Fatalf("phase %s, Put %d of %d: %v", ph.name, i, n, err)
			}
		}
		st := db.Stats()
		if st.FileSize > maxSize {
			t.Fatalf("phase %s: the file is %d bytes, past MaxSize %d", ph.name, st.FileSize, maxSize)
		}
		// The recent writes: 1/8 of MaxSize worth of records.
		per := allocatedSize(recordSize(len(fmt.Sprintf("p%d-%d", pi, n)), ph.size, false))
		recent := min(int(uint64(maxSize/8)/per), n)
		for i := n - recent; i < n; i++ {
			k := fmt.Sprintf("p%d-%d", pi, i)
			v, err := db.Get([]byte(k))
			if err != nil || len(v) != ph.size {
				t.Fatalf("phase %s: recent key %s (%d of the last %d) = %d bytes, %v", ph.name, k, i-(n-recent), recent, len(v), err)
			}
		}
		t.Logf("phase %s: %d Puts, %d keys held, %d evictions so far, file %d bytes, %d free pages",
			ph.name, n, st.Keys, st.Evictions, st.FileSize, st.FreePages)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestCacheWritesOfEveryKindAtTheBound: at the bound, every kind of write
// succeeds: Put, PutTTL, Add, CompareAndSwap, PutIfAbsent, Replace, Expire,
// Delete, an Update of many keys, and GetOrCompute.
func TestCacheWritesOfEveryKindAtTheBound(t *testing.T) {
	const maxSize = 4 << 20
	db, _ := openTemp(t, &Options{MaxSize: maxSize, Evict: true})
	fill := func(from, n int) {
		for i := from; i < from+n; i++ {
			k := fmt.Sprint("fill-", i)
			if err := db.Put([]byte(k), boundValue(k, 1000)); err != nil {
				t.Fatalf("fill %d: %v", i, err)
			}
		}
	}
	fill(0, 3*maxSize/1000)
	if db.Stats().Evictions == 0 {
		t.Fatal("the cache is not at its bound")
	}
	for round := 0; round < 20; round++ {
		k := []byte(fmt.Sprint("k", round))
		steps := []struct {
			name string
			run  func() error
		}{
			{"PutTTL", func() error { return db.PutTTL(k, boundValue(string(k), 3000), 1<<40) }},
			{"Add", func() error { _, err := db.Add([]byte(fmt.Sprint("n", round)), 1); return err }},
			{"CompareAndSwap", func() error { _, err := db.CompareAndSwap(k, nil, boundValue("x", 900), 0); return err }},
			{"PutIfAbsent", func() error {
				_, err := db.PutIfAbsent([]byte(fmt.Sprint("a", round)), boundValue("a", 5000), 0)
				return err
			}},
			{"Replace", func() error { _, err := db.Replace(k, boundValue("r", 2000), 0); return err }},
			{"Expire", func() error {
				if err := db.Expire(k, 1<<40); err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				return nil
			}},
			{"Update", func() error {
				return db.Update(func(tx *Tx) error {
					for j := 0; j < 200; j++ {
						key := fmt.Sprint("u", round, "-", j)
						if err := tx.Put([]byte(key), boundValue(key, 500)); err != nil {
							return err
						}
					}
					return nil
				})
			}},
			{"GetOrCompute", func() error {
				_, err := db.GetOrCompute(t.Context(), []byte(fmt.Sprint("c", round)), 0, func() ([]byte, error) { return boundValue("c", 7000), nil })
				return err
			}},
			{"Delete", func() error { return db.Delete([]byte(fmt.Sprint("fill-", round))) }},
		}
		for _, s := range steps {
			if err := s.run(); err != nil {
				t.Fatalf("round %d: %s at the bound: %v", round, s.name, err)
			}
		}
		fill(10000+round*100, 100)
	}
	if st := db.Stats(); st.FileSize > maxSize {
		t.Fatalf("the file is %d bytes, past MaxSize %d", st.FileSize, maxSize)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
