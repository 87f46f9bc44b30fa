//go:build unix

package kv

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestTTL(t *testing.T) {
	db, _ := openTemp(t, nil)
	if err := db.PutTTL([]byte("short"), []byte("v"), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	db.Put([]byte("forever"), []byte("v"))
	if d, err := db.TTL([]byte("short")); err != nil || d <= 0 || d > 50*time.Millisecond {
		t.Fatalf("TTL(short) = %v, %v", d, err)
	}
	if d, err := db.TTL([]byte("forever")); err != nil || d != NoTTL {
		t.Fatalf("TTL(forever) = %v, %v; want NoTTL", d, err)
	}
	if _, err := db.TTL([]byte("absent")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TTL(absent) = %v", err)
	}
	time.Sleep(60 * time.Millisecond)
	if _, err := db.Get([]byte("short")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(expired) = %v, want ErrNotFound", err)
	}
	seen := 0
	db.ForEach(func(k, v []byte) error { seen++; return nil })
	if seen != 1 {
		t.Fatalf("ForEach saw %d keys, want 1 (the expired one hidden)", seen)
	}
	if err := db.Expire([]byte("short"), time.Minute); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Expire(expired) = %v", err)
	}
	// A plain Put clears a TTL; Expire sets and removes one.
	db.PutTTL([]byte("k"), []byte("v"), time.Hour)
	db.Put([]byte("k"), []byte("v2"))
	if d, _ := db.TTL([]byte("k")); d != NoTTL {
		t.Fatalf("TTL after a plain Put = %v, want NoTTL", d)
	}
	db.Expire([]byte("k"), time.Hour)
	if d, _ := db.TTL([]byte("k")); d < 59*time.Minute {
		t.Fatalf("TTL after Expire = %v", d)
	}
	db.Expire([]byte("k"), 0)
	if d, _ := db.TTL([]byte("k")); d != NoTTL {
		t.Fatalf("TTL after Expire(0) = %v", d)
	}
	// The writes since the expiry sweep 8 slots each for expired records
	// (txn.reclaimExpired), so they may have reclaimed it already, depending
	// on where the file's random seed put it; DeleteExpired takes it otherwise.
	swept := db.Stats().Expired
	if n, err := db.DeleteExpired(0); err != nil || int64(n)+swept != 1 {
		t.Fatalf("DeleteExpired = %d, %v after %d reclaimed by writers; want the 1 expired entry in all", n, err, swept)
	}
	if st := db.Stats(); st.Expired != 1 || st.ExpiredKeys != 0 {
		t.Fatalf("after DeleteExpired: Expired %d, ExpiredKeys %d; want 1 and 0", st.Expired, st.ExpiredKeys)
	}
	if st := db.Stats(); st.Keys != 2 {
		t.Fatalf("Keys after DeleteExpired = %d, want 2", st.Keys)
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutTTL([]byte("tx"), []byte("v"), time.Hour) }); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.TTL([]byte("tx")); d < 59*time.Minute {
		t.Fatalf("TTL of Tx.PutTTL = %v", d)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestWritersReclaimExpired: expired entries' space comes back without a
// DeleteExpired call, through the small sweep every write does.
func TestWritersReclaimExpired(t *testing.T) {
	db, _ := openTemp(t, nil)
	for i := 0; i < 2000; i++ {
		db.PutTTL([]byte(fmt.Sprint("e", i)), make([]byte, 100), time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	for i := 0; i < 2000; i++ {
		db.Put([]byte(fmt.Sprint("p", i%10)), []byte("v"))
	}
	if st := db.Stats(); st.Keys > 2000 {
		t.Fatalf("Keys = %d: writers reclaimed no expired entries", st.Keys)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestAddAndCAS(t *testing.T) {
	db, _ := openTemp(t, nil)
	if n, err := db.Add([]byte("c"), 5); err != nil || n != 5 {
		t.Fatalf("Add(absent, 5) = %d, %v", n, err)
	}
	if n, _ := db.Add([]byte("c"), -7); n != -2 {
		t.Fatalf("Add = %d, want -2", n)
	}
	db.Put([]byte("max"), le.AppendUint64(nil, math.MaxInt64))
	if n, _ := db.Add([]byte("max"), 1); n != math.MinInt64 {
		t.Fatalf("Add overflow = %d, want wrap to MinInt64", n)
	}
	db.Put([]byte("text"), []byte("abc"))
	if _, err := db.Add([]byte("text"), 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Add on a 3-byte value = %v, want ErrInvalid", err)
	}
	if v, _ := db.Get([]byte("text")); string(v) != "abc" {
		t.Fatalf("a failed Add changed the value to %q", v)
	}
	db.PutTTL([]byte("ttl"), le.AppendUint64(nil, 1), time.Hour)
	db.Add([]byte("ttl"), 1)
	if d, _ := db.TTL([]byte("ttl")); d == NoTTL {
		t.Fatal("Add dropped the key's TTL")
	}
	if n, _ := db.AddTTL([]byte("fresh"), 3, time.Hour); n != 3 {
		t.Fatal("AddTTL on an absent key")
	}
	if d, _ := db.TTL([]byte("fresh")); d == NoTTL {
		t.Fatal("AddTTL did not set the TTL of the key it created")
	}

	ok, _ := db.CompareAndSwap([]byte("x"), nil, []byte("1"), 0)
	if !ok {
		t.Fatal("CAS(absent, nil -> 1) failed")
	}
	if ok, _ := db.CompareAndSwap([]byte("x"), nil, []byte("2"), 0); ok {
		t.Fatal("CAS(nil) succeeded on a present key")
	}
	if ok, _ := db.CompareAndSwap([]byte("x"), []byte("0"), []byte("2"), 0); ok {
		t.Fatal("CAS with a wrong old value succeeded")
	}
	if ok, _ := db.CompareAndSwap([]byte("x"), []byte("1"), nil, 0); !ok {
		t.Fatal("CAS(1 -> nil) failed")
	}
	if v, err := db.Get([]byte("x")); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("CAS with new == nil stored %q, %v; want an empty value", v, err)
	}
	if ok, _ := db.CompareAndSwap([]byte("x"), []byte{}, []byte("3"), 0); !ok {
		t.Fatal("CAS(empty old) on an empty value failed")
	}
	if ok, _ := db.PutIfAbsent([]byte("x"), []byte("4"), 0); ok {
		t.Fatal("PutIfAbsent on a present key succeeded")
	}
	if ok, _ := db.PutIfAbsent([]byte("y"), []byte("4"), 0); !ok {
		t.Fatal("PutIfAbsent on an absent key failed")
	}
	if ok, _ := db.Replace([]byte("z"), []byte("5"), 0); ok {
		t.Fatal("Replace on an absent key succeeded")
	}
	if ok, _ := db.Replace([]byte("y"), []byte("5"), 0); !ok {
		t.Fatal("Replace on a present key failed")
	}
	if err := db.Clear(); err != nil {
		t.Fatal(err)
	}
	if st := db.Stats(); st.Keys != 0 {
		t.Fatalf("Keys after Clear = %d", st.Keys)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCompactKeepsTTL(t *testing.T) {
	db, path := openTemp(t, nil)
	db.PutTTL([]byte("e"), []byte("v"), time.Hour)
	db.Put([]byte("p"), []byte("v"))
	dst := path + ".compact"
	if err := db.SnapshotWith(dst, SnapshotOptions{Compact: true}); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dst, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if d, err := c.TTL([]byte("e")); err != nil || d < 59*time.Minute {
		t.Fatalf("TTL in the compact copy = %v, %v", d, err)
	}
	if d, err := c.TTL([]byte("p")); err != nil || d != NoTTL {
		t.Fatalf("TTL of a permanent key in the compact copy = %v, %v", d, err)
	}
}
