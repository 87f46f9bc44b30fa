//go:build unix

// Keys and values: what every method refuses (empty, nil or too long keys,
// too large values) and what it stores and gives back (odd bytes, sizes at
// every layout boundary, copies the caller owns).

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestKeyAndValueLimits: every method refuses an empty, nil or too long key and
// a too large value with the documented sentinel, writes nothing, and leaves
// AppendGet's dst as it was; the longest key, an empty value and a 20 MiB
// value are stored and read back.
func TestKeyAndValueLimits(t *testing.T) {
	db, _ := openTemp(t, nil)
	if err := db.Put([]byte("present"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	commits := db.Stats().Commits
	bad := []struct {
		name string
		key  []byte
		want error
	}{
		{"nil key", nil, ErrInvalid},
		{"empty key", []byte{}, ErrInvalid},
		{"key of MaxKeySize+1", bytes.Repeat([]byte("k"), MaxKeySize+1), ErrTooLarge},
		{"key of MaxKeySize+1 zero bytes", make([]byte, MaxKeySize+1), ErrTooLarge},
	}
	for _, c := range bad {
		if v, err := db.Get(c.key); !errors.Is(err, c.want) || v != nil {
			t.Errorf("Get(%s) = %q, %v; want nil, %v", c.name, v, err, c.want)
		}
		dst := []byte("prefix")
		if out, err := db.AppendGet(dst, c.key); !errors.Is(err, c.want) || string(out) != "prefix" {
			t.Errorf("AppendGet(%s) = %q, %v; want dst unchanged, %v", c.name, out, err, c.want)
		}
		if err := db.Put(c.key, []byte("v")); !errors.Is(err, c.want) {
			t.Errorf("Put(%s) = %v, want %v", c.name, err, c.want)
		}
		if err := db.Delete(c.key); !errors.Is(err, c.want) {
			t.Errorf("Delete(%s) = %v, want %v", c.name, err, c.want)
		}
		err := db.Update(func(tx *Tx) error {
			if v, err := tx.Get(c.key); !errors.Is(err, c.want) || v != nil {
				t.Errorf("Tx.Get(%s) = %q, %v; want %v", c.name, v, err, c.want)
			}
			if err := tx.Put(c.key, []byte("v")); !errors.Is(err, c.want) {
				t.Errorf("Tx.Put(%s) = %v, want %v", c.name, err, c.want)
			}
			if err := tx.Delete(c.key); !errors.Is(err, c.want) {
				t.Errorf("Tx.Delete(%s) = %v, want %v", c.name, err, c.want)
			}
			return nil
		})
		if err != nil {
			t.Errorf("Update after refused Tx calls (%s) = %v", c.name, err)
		}
	}
	huge := make([]byte, MaxValueSize+1)
	if err := db.Put([]byte("k"), huge); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Put(value of MaxValueSize+1) = %v, want ErrTooLarge", err)
	}
	err := db.Update(func(tx *Tx) error {
		if err := tx.Put([]byte("k"), huge); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Tx.Put(value of MaxValueSize+1) = %v, want ErrTooLarge", err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("Update = %v", err)
	}
	if st := db.Stats(); st.Commits != commits || st.Keys != 1 {
		t.Errorf("refused calls wrote: commits %d -> %d, keys %d", commits, st.Commits, st.Keys)
	}
	// A record that cannot fit under MaxSize is refused before any work.
	capped, _ := openTemp(t, &Options{MaxSize: 256 << 10})
	if err := capped.Put([]byte("k"), make([]byte, 256<<10)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Put(value larger than MaxSize) = %v, want ErrTooLarge", err)
	}
	// The longest key and an empty value are stored.
	long := bytes.Repeat([]byte("k"), MaxKeySize)
	if err := db.Put(long, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get(long); err != nil || string(v) != "v" {
		t.Fatalf("Get(longest key) = %q, %v", v, err)
	}
	if err := db.Put([]byte("empty"), nil); err != nil {
		t.Fatal(err)
	}
	v, err := db.Get([]byte("empty"))
	if err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get(empty value) = %#v, %v; want a non-nil empty slice", v, err)
	}
	big := bytes.Repeat([]byte{7}, 20<<20)
	if err := db.Put([]byte("big"), big); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("big")); err != nil || !bytes.Equal(v, big) {
		t.Fatalf("Get(20 MiB value): %d bytes, %v", len(v), err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestOddBytes: keys and values made of any bytes (NUL, 0xff, invalid UTF-8,
// the file's own magic, record-header look-alikes) and sizes at every layout
// boundary round-trip through every read method.
func TestOddBytes(t *testing.T) {
	db, _ := openTemp(t, &Options{InitialSize: MinFileSize})
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	pairs := map[string][]byte{
		"\x00":                             {0},
		"\x00\x00\x00":                     {},
		"\xff\xfe\xfd":                     bytes.Repeat([]byte{0xff}, 100),
		string(all):                        all,
		"\xc3\x28 invalid utf-8":           []byte("\xed\xa0\x80"),
		string(fileMagic[:]):               fileMagic[:],
		"mpkvlog2":                         le.AppendUint64(nil, logMagic),
		"\x01\x00\x00\x00\x00\x00\x00\x00": le.AppendUint64(nil, 1),
		"k\n\r\t ":                         []byte("v\n\r\t "),
		strings.Repeat("K", MaxKeySize):    nil,
		strings.Repeat("\x00", MaxKeySize-1) + "x": []byte("nul-key"),
	}
	// Values around the slab/chain boundary and whole chain pages.
	for _, n := range []int{maxSlabRecord - recHeader - 2, maxSlabRecord - recHeader - 1, chainSpace - recHeader - 2, chainSpace - recHeader - 1, 3*chainSpace - recHeader - 2} {
		pairs[fmt.Sprintf("sz%d", n)] = bytes.Repeat([]byte{byte(n)}, n)
	}
	if !testing.Short() {
		pairs["largest value"] = bytes.Repeat([]byte{0x5a}, MaxValueSize)
	}
	for k, v := range pairs {
		if err := db.Put([]byte(k), v); err != nil {
			t.Fatalf("Put(%.20q, %d bytes) = %v", k, len(v), err)
		}
	}
	for k, want := range pairs {
		if got, err := db.Get([]byte(k)); err != nil || !bytes.Equal(got, want) || got == nil {
			t.Errorf("Get(%.20q) = %d bytes (nil %v), %v; want %d bytes", k, len(got), got == nil, err, len(want))
		}
		dst := []byte("prefix")
		if got, err := db.AppendGet(dst, []byte(k)); err != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("AppendGet(%.20q) = %d bytes, %v", k, len(got), err)
		}
	}
	err := db.Update(func(tx *Tx) error {
		for k, want := range pairs {
			if got, err := tx.Get([]byte(k)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("Tx.Get(%.20q) = %d bytes, %v", k, len(got), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	err = db.ForEach(func(k, v []byte) error {
		if want, ok := pairs[string(k)]; !ok || !bytes.Equal(v, want) {
			t.Errorf("ForEach gave %.20q = %d bytes", k, len(v))
		}
		seen++
		return nil
	})
	if err != nil || seen != len(pairs) {
		t.Fatalf("ForEach visited %d of %d, %v", seen, len(pairs), err)
	}
	for k := range pairs {
		if err := db.Delete([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if st := db.Stats(); st.Keys != 0 || st.LiveBytes != 0 {
		t.Fatalf("after deleting everything: %d keys, %d live bytes", st.Keys, st.LiveBytes)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCopiesAreTheCallers(t *testing.T) {
	db, _ := openTemp(t, nil)
	k, v := []byte("key"), []byte("value")
	if err := db.Put(k, v); err != nil {
		t.Fatal(err)
	}
	k[0], v[0] = 'X', 'X' // Put copied them
	got, _ := db.Get([]byte("key"))
	if string(got) != "value" {
		t.Fatalf("Put kept the caller's slice: %q", got)
	}
	got[0] = 'Y' // Get returned a copy
	if again, _ := db.Get([]byte("key")); string(again) != "value" {
		t.Fatalf("Get returned shared memory: %q", again)
	}
}
