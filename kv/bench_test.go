//go:build unix

package kv

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// Benchmarks over 1M keys of 16 bytes with 100-byte values, each against the
// baseline the issue names, measured in the same run: a Go map for reads and
// the raw flock lock+unlock pair for writes. docs/performance.md records them.

const (
	benchKeys = 1 << 20
	benchVal  = 100
)

func benchKey(i int) []byte {
	k := make([]byte, 16)
	binary.LittleEndian.PutUint64(k, uint64(i)*0x9E3779B97F4A7C15)
	binary.LittleEndian.PutUint64(k[8:], uint64(i))
	return k
}

var (
	benchDB    *DB
	benchDir   string
	benchMap   map[string][]byte
	benchKeysB [][]byte
)

// loadedDB returns a store holding benchKeys keys, built once per process.
func loadedDB(b *testing.B) *DB {
	if benchDB != nil {
		return benchDB
	}
	b.StopTimer()
	defer b.StartTimer()
	dir, err := os.MkdirTemp("", "kvbench")
	if err != nil {
		b.Fatal(err)
	}
	benchDir = dir
	db, err := Open(filepath.Join(dir, "bench.kv"), nil)
	if err != nil {
		b.Fatal(err)
	}
	val := make([]byte, benchVal)
	benchKeysB = make([][]byte, benchKeys)
	for i := 0; i < benchKeys; i += 1000 {
		err := db.Update(func(tx *Tx) error {
			for j := i; j < min(i+1000, benchKeys); j++ {
				benchKeysB[j] = benchKey(j)
				if err := tx.Put(benchKeysB[j], val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	benchDB = db
	return db
}

func goMap(b *testing.B) map[string][]byte {
	if benchMap == nil {
		b.StopTimer()
		benchMap = make(map[string][]byte, benchKeys)
		for i := 0; i < benchKeys; i++ {
			benchMap[string(benchKey(i))] = make([]byte, benchVal)
		}
		b.StartTimer()
	}
	return benchMap
}

// randomOrder returns indexes that visit the keys in a cache-unfriendly order.
func randomOrder(n int) []int {
	rng := rand.New(rand.NewPCG(1, 1))
	return rng.Perm(n)
}

func BenchmarkGetHitAppend(b *testing.B) {
	db := loadedDB(b)
	order := randomOrder(benchKeys)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := db.AppendGet(buf[:0], benchKeysB[order[i%benchKeys]])
		if err != nil || len(v) != benchVal {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetHitCopy(b *testing.B) {
	db := loadedDB(b)
	order := randomOrder(benchKeys)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Get(benchKeysB[order[i%benchKeys]]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetMiss(b *testing.B) {
	db := loadedDB(b)
	misses := make([][]byte, 1<<16)
	for i := range misses {
		misses[i] = benchKey(benchKeys + 1 + i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.AppendGet(nil, misses[i%len(misses)]); err != ErrNotFound {
			b.Fatal(err)
		}
	}
}

var sink atomic.Int64

// BenchmarkGoMapHit is the baseline for Get hit: a map lookup that reads the value.
func BenchmarkGoMapHit(b *testing.B) {
	m := goMap(b)
	loadedDB(b)
	order := randomOrder(benchKeys)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		v := m[string(benchKeysB[order[i%benchKeys]])]
		n += int(v[0]) + len(v)
	}
	sink.Add(int64(n))
}

// BenchmarkGoMapHitCopy is the baseline for Get returning a copy.
func BenchmarkGoMapHitCopy(b *testing.B) {
	m := goMap(b)
	loadedDB(b)
	order := randomOrder(benchKeys)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		v := append([]byte(nil), m[string(benchKeysB[order[i%benchKeys]])]...)
		n += len(v)
	}
	sink.Add(int64(n))
}

func BenchmarkGoMapMiss(b *testing.B) {
	m := goMap(b)
	misses := make([][]byte, 1<<16)
	for i := range misses {
		misses[i] = benchKey(benchKeys + 1 + i)
	}
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if _, ok := m[string(misses[i%len(misses)])]; ok {
			n++
		}
	}
	sink.Add(int64(n))
}

func BenchmarkPutOverwrite(b *testing.B) {
	db := loadedDB(b)
	order := randomOrder(benchKeys)
	val := make([]byte, benchVal)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Put(benchKeysB[order[i%benchKeys]], val); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutOverwriteParallel shows group commit: goroutines queued behind
// one writer share its hold of the flock.
func BenchmarkPutOverwriteParallel(b *testing.B) {
	db := loadedDB(b)
	val := make([]byte, benchVal)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)*7919) % benchKeys
			if err := db.Put(benchKeysB[i], val); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPutNew(b *testing.B) {
	db, _ := openTemp(b, nil)
	val := make([]byte, benchVal)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Put(benchKey(i), val); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate1000 reports the cost per key of an Update of 1000 puts.
func BenchmarkUpdate1000(b *testing.B) {
	db := loadedDB(b)
	order := randomOrder(benchKeys)
	val := make([]byte, benchVal)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		err := db.Update(func(tx *Tx) error {
			for j := i; j < i+1000; j++ {
				if err := tx.Put(benchKeysB[order[j%benchKeys]], val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlockPair is the floor of a write that takes the lock: the raw
// flock lock+unlock pair on a descriptor kept open.
func BenchmarkFlockPair(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "lock"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			b.Fatal(err)
		}
		if err := unix.Flock(fd, unix.LOCK_UN); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenExisting opens the loaded file again: no work proportional to
// its size.
func BenchmarkOpenExisting(b *testing.B) {
	db := loadedDB(b)
	path := db.Path()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		o.Close()
	}
}

// The snapshot methods against copy_file_range of the same file, in one run.
// b.SetBytes makes the tool report MB/s.
func benchSnapshot(b *testing.B, method copyMethod) {
	db := loadedDB(b)
	dst := filepath.Join(benchDir, "snap.kv")
	b.SetBytes(db.Stats().FileSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.SnapshotWith(dst, SnapshotOptions{method: method, Overwrite: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	os.Remove(dst)
}

func BenchmarkSnapshotWrite(b *testing.B) { benchSnapshot(b, copyWrite) }
func BenchmarkSnapshotMmap(b *testing.B)  { benchSnapshot(b, copyMmap) }

// The same operations on a store small enough to stay in the CPU caches: the
// cost of the code path itself, without the memory stalls of 1M random keys.
func smallStore(b *testing.B) (*DB, [][]byte) {
	db, _ := openTemp(b, nil)
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = benchKey(i)
		if err := db.Put(keys[i], make([]byte, benchVal)); err != nil {
			b.Fatal(err)
		}
	}
	return db, keys
}

func BenchmarkGetHitInCache(b *testing.B) {
	db, keys := smallStore(b)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, _ = db.AppendGet(buf[:0], keys[i%len(keys)])
	}
}

func BenchmarkPutOverwriteInCache(b *testing.B) {
	db, keys := smallStore(b)
	val := make([]byte, benchVal)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Put(keys[i%len(keys)], val); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadBatch1000 reports the cost per key of loading new keys into a
// fresh store in Updates of 1000 (the file and the table grow as it goes).
func BenchmarkLoadBatch1000(b *testing.B) {
	db, _ := openTemp(b, nil)
	val := make([]byte, benchVal)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		err := db.Update(func(tx *Tx) error {
			for j := i; j < i+1000; j++ {
				if err := tx.Put(benchKey(j), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
