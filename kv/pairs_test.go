//go:build unix

package kv

import (
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collect ranges over pairs, copying each pair, and returns them with errf's
// verdict, or an error if a key came twice.
func collect(pairs iter.Seq2[[]byte, []byte], errf func() error) (map[string]string, error) {
	got := map[string]string{}
	for k, v := range pairs {
		if _, dup := got[string(k)]; dup {
			return got, fmt.Errorf("key %q yielded twice", k)
		}
		got[string(k)] = string(v)
	}
	return got, errf()
}

func putAll(t *testing.T, db *DB, pairs map[string]string) {
	t.Helper()
	err := db.Update(func(tx *Tx) error {
		for k, v := range pairs {
			if err := tx.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func sameMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d pairs, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s: %q = %q (present %v), want %q", what, k, g, ok, v)
		}
	}
}

// All and Prefix yield every live pair once, leave out expired keys, and
// report nil at the end of a loop.
func TestAllAndPrefix(t *testing.T) {
	db, _ := openTemp(t, nil)
	want := map[string]string{}
	users := map[string]string{}
	for i := range 500 {
		k, v := fmt.Sprintf("user:%03d", i), strings.Repeat("u", i%40)
		want[k], users[k] = v, v
		k = fmt.Sprintf("item:%03d", i)
		want[k] = fmt.Sprint(i)
	}
	want["user"] = "not under the prefix user:"
	putAll(t, db, want)
	if err := db.PutTTL([]byte("user:gone"), []byte("x"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)

	got, err := collect(db.All())
	if err != nil {
		t.Fatalf("All: errf = %v", err)
	}
	sameMap(t, "All", got, want)

	got, err = collect(db.Prefix([]byte("user:")))
	if err != nil {
		t.Fatalf("Prefix: errf = %v", err)
	}
	sameMap(t, "Prefix(user:)", got, users)

	got, err = collect(db.Prefix(nil))
	if err != nil {
		t.Fatal(err)
	}
	sameMap(t, "Prefix(nil)", got, want)

	if got, err := collect(db.Prefix([]byte("none:"))); err != nil || len(got) != 0 {
		t.Errorf("Prefix(none:) = %v, %v; want nothing", got, err)
	}
}

// The caller's prefix slice is copied: changing it after Prefix returns
// changes nothing.
func TestPrefixCopiesItsArgument(t *testing.T) {
	db, _ := openTemp(t, nil)
	putAll(t, db, map[string]string{"ab1": "1", "ab2": "2", "xy": "3"})
	p := []byte("ab")
	pairs, errf := db.Prefix(p)
	p[0] = 'x'
	got, err := collect(pairs, errf)
	if err != nil {
		t.Fatal(err)
	}
	sameMap(t, "Prefix after the caller changed its slice", got, map[string]string{"ab1": "1", "ab2": "2"})
}

// A break ends the iteration with errf nil; a second range is a fresh pass;
// iter.Pull works, and stopping it early is fine.
func TestAllBreakAndRangeAgain(t *testing.T) {
	db, _ := openTemp(t, nil)
	want := map[string]string{}
	for i := range 100 {
		want[fmt.Sprint("k", i)] = fmt.Sprint(i)
	}
	putAll(t, db, want)
	pairs, errf := db.All()
	n := 0
	for range pairs {
		if n++; n == 10 {
			break
		}
	}
	if n != 10 || errf() != nil {
		t.Fatalf("break after %d pairs: errf = %v", n, errf())
	}
	got, err := collect(pairs, errf)
	if err != nil {
		t.Fatal(err)
	}
	sameMap(t, "second range", got, want)

	next, stop := iter.Pull2(pairs)
	k, v, ok := next()
	if !ok || want[string(k)] != string(v) {
		t.Fatalf("Pull2: %q=%q, %v", k, v, ok)
	}
	stop()
	if errf() != nil {
		t.Fatalf("errf after a stopped Pull2 = %v", errf())
	}
}

// The loop body may write the DB; keys present throughout are still seen
// exactly once.
func TestAllWritesInTheLoop(t *testing.T) {
	db, _ := openTemp(t, nil)
	want := map[string]string{}
	for i := range 300 {
		want[fmt.Sprint("old", i)] = "v"
	}
	putAll(t, db, want)
	rehashes := db.Stats().Rehashes
	pairs, errf := db.Prefix([]byte("old"))
	got := map[string]string{}
	i := 0
	for k, v := range pairs {
		if _, dup := got[string(k)]; dup {
			t.Fatalf("%q twice", k)
		}
		got[string(k)] = string(v)
		// Enough new keys to rehash the table under the iteration.
		for j := range 20 {
			if err := db.Put([]byte(fmt.Sprint("new", i, "-", j)), []byte("n")); err != nil {
				t.Fatal(err)
			}
		}
		i++
	}
	if err := errf(); err != nil {
		t.Fatal(err)
	}
	sameMap(t, "old keys while new ones were written", got, want)
	if db.Stats().Rehashes == rehashes {
		t.Fatal("no rehash happened during the iteration: the test did not move the table under it")
	}
}

// errf reports ErrClosed when the DB is closed before or during a range.
func TestAllOnAClosedDB(t *testing.T) {
	db, _ := openTemp(t, nil)
	putAll(t, db, map[string]string{"a": "1", "b": "2", "c": "3"})
	pairs, errf := db.All()
	for range pairs {
		db.Close()
	}
	if err := errf(); !errors.Is(err, ErrClosed) {
		t.Fatalf("errf after Close in the loop = %v, want ErrClosed", err)
	}
	n := 0
	for range pairs {
		n++
	}
	if err := errf(); n != 0 || !errors.Is(err, ErrClosed) {
		t.Fatalf("range over a closed DB: %d pairs, errf = %v", n, err)
	}
}

// ReadTx.All and Prefix see one commit: Updates keep a fixed sum over many
// keys, and every range inside a View sees that sum while a writer commits
// without pause.
func TestReadTxAllIsConsistent(t *testing.T) {
	db, _ := openTemp(t, nil)
	const accounts = 50
	err := db.Update(func(tx *Tx) error {
		for i := range accounts {
			if _, err := tx.Add([]byte(fmt.Sprint("acct:", i)), 100); err != nil {
				return err
			}
		}
		return tx.Put([]byte("other"), []byte("not an account"))
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			from, to := fmt.Sprint("acct:", n%accounts), fmt.Sprint("acct:", (n*7+1)%accounts)
			err := db.Update(func(tx *Tx) error {
				if _, err := tx.Add([]byte(from), -3); err != nil {
					return err
				}
				_, err := tx.Add([]byte(to), 3)
				return err
			})
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var views atomic.Int64
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) || views.Load() < 20 {
		err := db.View(func(tx *ReadTx) error {
			sum, n := int64(0), 0
			pairs, errf := tx.Prefix([]byte("acct:"))
			for _, v := range pairs {
				sum += int64(le.Uint64(v))
				n++
			}
			if err := errf(); err != nil {
				return err
			}
			if n != accounts || sum != 100*accounts {
				return fmt.Errorf("a View saw %d accounts summing to %d, want %d summing to %d", n, sum, accounts, 100*accounts)
			}
			all := 0
			pairs, errf = tx.All()
			for range pairs {
				all++
			}
			if err := errf(); err != nil {
				return err
			}
			if all != accounts+1 {
				return fmt.Errorf("All in a View saw %d keys, want %d", all, accounts+1)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		views.Add(1)
	}
	close(stop)
	wg.Wait()
}

// A ReadTx's iteration ranged after its View returned yields nothing and
// reports ErrClosed.
func TestReadTxAllAfterView(t *testing.T) {
	db, _ := openTemp(t, nil)
	putAll(t, db, map[string]string{"a": "1"})
	var pairs iter.Seq2[[]byte, []byte]
	var errf func() error
	if err := db.View(func(tx *ReadTx) error {
		pairs, errf = tx.All()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for k := range pairs {
		t.Fatalf("yielded %q after the View returned", k)
	}
	if err := errf(); !errors.Is(err, ErrClosed) {
		t.Fatalf("errf = %v, want ErrClosed", err)
	}
	// And a stale ReadTx's Prefix likewise.
	var stale *ReadTx
	db.View(func(tx *ReadTx) error { stale = tx; return nil })
	pairs, errf = stale.Prefix([]byte("a"))
	for range pairs {
		t.Fatal("yielded after the View returned")
	}
	if !errors.Is(errf(), ErrClosed) {
		t.Fatalf("stale Prefix: errf = %v", errf())
	}
}
