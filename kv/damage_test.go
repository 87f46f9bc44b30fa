//go:build unix

// A file damaged or truncated underneath reads as damage (ErrCorrupt), never
// as a crash.

package kv

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

func TestTruncatedUnderneath(t *testing.T) {
	db, path := openTemp(t, &Options{InitialSize: 4 << 20})
	for i := 0; i < 5000; i++ {
		db.Put([]byte{byte(i), byte(i >> 8)}, make([]byte, 500))
	}
	if err := os.Truncate(path, PageSize); err != nil {
		t.Fatal(err)
	}
	_, err := db.Get([]byte{1, 0})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get on a truncated file = %v, want ErrCorrupt", err)
	}
	if err := db.Put([]byte{1, 0}, nil); err == nil {
		t.Fatal("Put on a truncated file succeeded")
	}
	if err := db.ForEach(func(k, v []byte) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ForEach on a truncated file = %v", err)
	}
}

// TestTableWordOutOfRange: a damaged table word whose offset is near 2^64
// (found by FuzzHeader) must read as damage, not crash the reader.
func TestTableWordOutOfRange(t *testing.T) {
	db, path := openTemp(t, nil)
	for i := 0; i < 10; i++ {
		db.Put([]byte(fmt.Sprint("k", i)), []byte("v"))
	}
	db.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The word FuzzHeader found: "X000000\xbf", 2^24 slots at offset 0xbf30303030303040.
	f.WriteAt([]byte("X000000\xbf"), hdrTable)
	f.Close()
	for _, ro := range []bool{true, false} {
		db, err := Open(path, &Options{ReadOnly: ro})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v", err)
			}
			continue
		}
		defer db.Close()
		var gerr, ferr, cerr, perr error
		noPanic(t, "Get", func() { _, gerr = db.Get([]byte("k1")) })
		noPanic(t, "ForEach", func() { ferr = db.ForEach(func(k, v []byte) error { return nil }) })
		noPanic(t, "Stats", func() { db.Stats() })
		noPanic(t, "Check", func() { cerr = db.Check() })
		if !ro {
			noPanic(t, "Put", func() { perr = db.Put([]byte("k1"), []byte("w")) })
		}
		for name, err := range map[string]error{"Get": gerr, "ForEach": ferr, "Check": cerr} {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s (ReadOnly %v) = %v, want ErrCorrupt", name, ro, err)
			}
		}
		if !ro && perr == nil {
			t.Error("Put on a damaged table word succeeded")
		}
	}
}
