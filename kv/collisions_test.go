//go:build unix

// Keys chosen to collide in one file's table.

package kv

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestHostileKeys: keys chosen so that they all share one home slot in file
// A (found by brute force against A's seed, as an attacker who knew the seed
// could) form one long probe run there but spread out in file B, whose seed
// differs; and even in A every key is found and the probe length is bounded
// by the number of colliding keys.
func TestHostileKeys(t *testing.T) {
	a, _ := openTemp(t, &Options{InitialSize: MinFileSize})
	b, _ := openTemp(t, &Options{InitialSize: MinFileSize})
	for _, db := range []*DB{a, b} {
		if got := le.Uint64(db.f.m.Load().data[hdrSeed:]); got != db.seed {
			t.Fatalf("the handle's seed %#x is not the header's %#x", db.seed, got)
		}
	}
	if a.seed == b.seed {
		t.Fatal("two new files have the same seed")
	}
	// 600 keys end in a table of 1024 slots (it is rebuilt at 384 keys): keys
	// sharing the top 10 bits of A's hash share their home slot in every table
	// A has on the way.
	const n, bits = 600, 10
	start := time.Now()
	home := hashKey(a.seed, []byte("target")) >> (64 - bits)
	var keys [][]byte
	tried := 0
	buf := []byte("hostile-")
	for len(keys) < n {
		k := strconv.AppendInt(buf[:8], int64(tried), 10)
		tried++
		if hashKey(a.seed, k)>>(64-bits) == home {
			keys = append(keys, append([]byte(nil), k...))
		}
	}
	search := time.Since(start)
	for _, k := range keys {
		if err := a.Put(k, k); err != nil {
			t.Fatal(err)
		}
		if err := b.Put(k, k); err != nil {
			t.Fatal(err)
		}
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.Slots != 1<<bits || sb.Slots != 1<<bits {
		t.Fatalf("tables of %d and %d slots, want %d", sa.Slots, sb.Slots, 1<<bits)
	}
	// In A the keys form one run: the last one probes past all the others.
	if sa.MaxProbe < n/2 || sa.MaxProbe >= n {
		t.Errorf("file A: MaxProbe %d for %d keys sharing one home slot, want between %d and %d", sa.MaxProbe, n, n/2, n-1)
	}
	// In B the same keys are ordinary keys: short probes.
	if sb.MaxProbe > 64 || sb.MaxProbe*10 > sa.MaxProbe {
		t.Errorf("file B (another seed): MaxProbe %d, file A %d: the keys collide without A's seed", sb.MaxProbe, sa.MaxProbe)
	}
	sameHomeInB := 0
	homeB := hashKey(b.seed, keys[0]) >> (64 - bits)
	for _, k := range keys {
		if hashKey(b.seed, k)>>(64-bits) == homeB {
			sameHomeInB++
		}
	}
	if sameHomeInB > 10 {
		t.Errorf("%d of the keys share a home slot in B too", sameHomeInB)
	}
	// Every key is found in both files, and absent keys with the same home in
	// A end their probe at the end of the run.
	timeGets := func(db *DB) time.Duration {
		start := time.Now()
		for _, k := range keys {
			if v, err := db.Get(k); err != nil || string(v) != string(k) {
				t.Fatalf("Get(%s) = %q, %v", k, v, err)
			}
		}
		return time.Since(start) / n
	}
	perA, perB := timeGets(a), timeGets(b)
	for found := 0; found < 20; tried++ {
		k := strconv.AppendInt([]byte("hostile-"), int64(tried), 10)
		if hashKey(a.seed, k)>>(64-bits) == home {
			found++
			if _, err := a.Get(k); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(absent colliding key) = %v", err)
			}
		}
	}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	t.Logf("searched %d candidates in %v for %d keys with one home slot in A; MaxProbe A %d, B %d; Get %v per key in A, %v in B",
		tried, search, n, sa.MaxProbe, sb.MaxProbe, perA, perB)
}
