//go:build unix

package kv

import (
	"errors"
	"testing"
)

// TestCheckTableWordThatWraps: a table word whose end wraps past 2^64 to a
// small number (offset 2^64 - 4096, 512 slots) is damage to Check, as it is
// to readers and writers, never an index out of range.
func TestCheckTableWordThatWraps(t *testing.T) {
	db, _ := openTemp(t, nil)
	db.Put([]byte("k"), []byte("v"))
	m := db.f.m.Load()
	good := m.load(hdrTable)
	m.store(hdrTable, (^uint64(0)-PageSize+1)&^63|minLog2)
	defer m.store(hdrTable, good)
	if err := db.Check(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check with a wrapping table word = %v, want ErrCorrupt", err)
	}
	if _, err := db.Get([]byte("k")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get with a wrapping table word = %v, want ErrCorrupt", err)
	}
}
