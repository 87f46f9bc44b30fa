//go:build unix

// Space: MaxSize and ErrFull, the smallest file, and freed space reused so
// that overwrites keep the file bounded.

package kv

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
)

func TestMaxSize(t *testing.T) {
	db, _ := openTemp(t, &Options{MaxSize: 256 << 10})
	if err := db.Put([]byte("huge"), make([]byte, 300<<10)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put larger than MaxSize = %v, want ErrTooLarge", err)
	}
	val := make([]byte, 1000)
	var i int
	var err error
	for i = 0; i < 10000; i++ {
		if err = db.Put([]byte{byte(i), byte(i >> 8)}, val); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("filling the file: %v after %d puts, want ErrFull", err, i)
	}
	if st := db.Stats(); st.FileSize > 256<<10 {
		t.Fatalf("file grew to %d bytes past MaxSize", st.FileSize)
	}
	// What was stored is intact, and deleting makes room again.
	if v, err := db.Get([]byte{0, 0}); err != nil || len(v) != 1000 {
		t.Fatalf("Get after ErrFull = %d bytes, %v", len(v), err)
	}
	for j := 0; j < i/2; j++ {
		db.Delete([]byte{byte(j), byte(j >> 8)})
	}
	if err := db.Put([]byte("again"), val); err != nil {
		t.Fatalf("Put after deleting = %v", err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestSmallestFile: a file of MinFileSize stores records, and deleting a large
// value from a full file succeeds.
func TestSmallestFile(t *testing.T) {
	db, _ := openTemp(t, &Options{MaxSize: MinFileSize})
	if err := db.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put into a MinFileSize file: %v", err)
	}
	big, _ := openTemp(t, &Options{MaxSize: 4 << 20})
	if err := big.Put([]byte("big"), make([]byte, 3<<20)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; err == nil; i++ {
		err = big.Put([]byte(fmt.Sprint(i)), make([]byte, 1000))
	}
	if !errors.Is(err, ErrFull) {
		t.Fatal(err)
	}
	if err := big.Delete([]byte("big")); err != nil {
		t.Fatalf("Delete on a full file: %v", err)
	}
	if err := big.Put([]byte("after"), make([]byte, 100000)); err != nil {
		t.Fatalf("Put after freeing room: %v", err)
	}
	if err := big.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestSpaceIsReused: overwriting the same keys keeps the file bounded.
func TestSpaceIsReused(t *testing.T) {
	db, _ := openTemp(t, &Options{InitialSize: MinFileSize})
	keys, rounds := 10_000, 20
	if testing.Short() {
		rounds = 5
	}
	val := make([]byte, 100)
	var first int64
	for r := 0; r < rounds; r++ {
		for i := 0; i < keys; i++ {
			val[0] = byte(r)
			if err := db.Put([]byte{byte(i), byte(i >> 8), 'k'}, val[:50+(i+r)%50]); err != nil {
				t.Fatal(err)
			}
		}
		if r == 0 {
			first = db.Stats().FileSize
		}
	}
	st := db.Stats()
	if st.FileSize > 2*first {
		t.Fatalf("file grew from %d to %d bytes over %d rounds of overwrites", first, st.FileSize, rounds)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestOverwriteChurnBounded: 10M overwrites of 100k keys (1M under -short or
// -race) keep the file within 2x of its size after the first pass: deleted
// and overwritten space is reused.
func TestOverwriteChurnBounded(t *testing.T) {
	const keys = 100_000
	writes := 10_000_000
	if testing.Short() || testproc.RaceEnabled {
		writes = 1_000_000
	}
	db, _ := openTemp(t, nil)
	val := make([]byte, 100)
	key := make([]byte, 16)
	var first int64
	for done := 0; done < writes; {
		err := db.Update(func(tx *Tx) error {
			for j := 0; j < 10_000; j++ {
				i := done + j
				copy(key, fmt.Sprintf("key-%011d", (i*7919)%keys))
				val[0], val[1] = byte(i), byte(i>>8)
				if err := tx.Put(key, val[:50+i%51]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		done += 10_000
		if done == keys {
			first = db.Stats().FileSize
		}
	}
	st := db.Stats()
	t.Logf("%d overwrites of %d keys: file %d bytes after the first pass, %d at the end (%.2fx)",
		writes, keys, first, st.FileSize, float64(st.FileSize)/float64(first))
	if st.FileSize > 2*first {
		t.Fatalf("the file grew from %d to %d bytes", first, st.FileSize)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
