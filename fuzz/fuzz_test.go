//go:build unix

// Package fuzz holds the fuzz targets of package kv. Run one for longer with
//
//	go test -run '^$' -fuzz '^FuzzOpen$' -fuzztime 10m ./fuzz
//
// docs/testing.md lists the targets and what they found.
package fuzz

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mapkv/mapkv/internal/kvtest"
	"github.com/mapkv/mapkv/kv"
)

// Offsets from docs/format.md, for targets that damage one structure.
const (
	pageSize     = kv.PageSize
	tablePage    = 3 // the first slot table of a new file
	newFileBytes = kv.MinFileSize
)

// validFile returns the bytes of a small store holding a few keys, one of them
// with a value large enough to be a chained record.
func validFile(t testing.TB) []byte {
	t.Helper()
	db, path := kvtest.OpenTemp(t, &kv.Options{InitialSize: newFileBytes})
	for i, v := range []string{"one", "two", "three", string(bytes.Repeat([]byte("L"), 5000))} {
		if err := db.Put([]byte{'k', byte('0' + i)}, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	db.Delete([]byte("k1"))
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exercise opens the file at path and drives every read path over it. Errors
// are fine; a panic, a crash or a hang is the failure the fuzzer looks for.
func exercise(t *testing.T, path string, readOnly bool) {
	db, err := kv.Open(path, &kv.Options{ReadOnly: readOnly, MaxSize: 0})
	if err != nil {
		if !errors.Is(err, kv.ErrCorrupt) && !errors.Is(err, kv.ErrInvalid) {
			t.Fatalf("Open: unexpected error class: %v", err)
		}
		return
	}
	defer db.Close()
	for _, k := range []string{"k0", "k1", "k2", "k3", "absent"} {
		if v, err := db.Get([]byte(k)); err == nil && k == "absent" {
			t.Fatalf("Get(absent) = %q", v)
		}
	}
	n := 0
	_ = db.ForEach(func(k, v []byte) error {
		if n++; n > 1<<20 {
			t.Fatal("ForEach does not end")
		}
		return nil
	})
	_ = db.Check()
	_ = db.Stats()
	if !readOnly {
		_ = db.Put([]byte("new"), []byte("value"))
		_ = db.Delete([]byte("k0"))
		_ = db.Check()
	}
}

func writeTemp(t *testing.T, b []byte) string {
	path := filepath.Join(t.TempDir(), "f.kv")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// FuzzOpen feeds arbitrary bytes, and mutations of a valid file, to Open, Get,
// ForEach and Check, read-only and read-write.
func FuzzOpen(f *testing.F) {
	valid := validFile(f)
	f.Add(valid, false)
	f.Add(valid[:pageSize], true)
	f.Add([]byte{}, true)
	f.Add([]byte("mapkv\x00db"), false)
	f.Fuzz(func(t *testing.T, b []byte, readOnly bool) {
		if len(b) > 1<<20 {
			return
		}
		exercise(t, writeTemp(t, b), readOnly)
	})
}

// overlayAt returns a valid file whose bytes at off are replaced by patch.
func overlayAt(valid []byte, off int, patch []byte) []byte {
	b := append([]byte(nil), valid...)
	if off < len(b) {
		copy(b[off:], patch)
	}
	return b
}

// FuzzHeader replaces bytes of the header page of a valid file.
func FuzzHeader(f *testing.F) {
	valid := validFile(f)
	f.Add(uint16(0), valid[:64])
	f.Add(uint16(64), valid[64:128])
	f.Add(uint16(128), valid[128:256])
	f.Fuzz(func(t *testing.T, off uint16, patch []byte) {
		exercise(t, writeTemp(t, overlayAt(valid, int(off)%pageSize, patch)), off%2 == 0)
	})
}

// FuzzSlots replaces bytes of the slot table of a valid file.
func FuzzSlots(f *testing.F) {
	valid := validFile(f)
	f.Add(uint16(0), valid[tablePage*pageSize:tablePage*pageSize+64])
	f.Add(uint16(4000), []byte{1, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, off uint16, patch []byte) {
		exercise(t, writeTemp(t, overlayAt(valid, tablePage*pageSize+int(off)%pageSize, patch)), off%2 == 0)
	})
}

// FuzzRecord replaces bytes around a record (found by its key) of a valid file.
func FuzzRecord(f *testing.F) {
	valid := validFile(f)
	at := bytes.Index(valid, []byte("k2three"))
	if at < 12 {
		f.Fatal("seed record not found")
	}
	rec := at - 12 // the record header precedes its key
	f.Add(uint16(0), valid[rec:rec+24])
	f.Add(uint16(4), []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, off uint16, patch []byte) {
		exercise(t, writeTemp(t, overlayAt(valid, rec-64+int(off)%256, patch)), off%2 == 0)
	})
}

// FuzzOps decodes a byte string into Put/Get/Delete/Update/reopen/abandon
// operations and checks each result against a map.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 1, 5, 1, 1, 2, 1, 3, 4, 0, 2, 9, 5, 1, 1})
	f.Add(bytes.Repeat([]byte{0, 7, 200, 3, 1, 0, 2, 40}, 20))
	f.Fuzz(func(t *testing.T, prog []byte) {
		path := filepath.Join(t.TempDir(), "ops.kv")
		opts := &kv.Options{InitialSize: kv.MinFileSize, MaxSize: 4 << 20}
		db, err := kv.Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		var abandoned []*kv.DB
		defer func() {
			db.Close()
			for _, a := range abandoned {
				a.Close()
			}
		}()
		model := map[string][]byte{}
		next := func() byte {
			if len(prog) == 0 {
				return 0
			}
			b := prog[0]
			prog = prog[1:]
			return b
		}
		value := func() []byte {
			n := int(next())
			if n > 240 {
				n = (n - 240) * 1000 // chained records
			}
			return bytes.Repeat([]byte{next()}, n)
		}
		for len(prog) > 0 {
			op, k := next()%6, []byte{'k', next() % 32}
			switch op {
			case 0:
				v := value()
				if err := db.Put(k, v); err != nil {
					if errors.Is(err, kv.ErrFull) {
						continue
					}
					t.Fatal(err)
				}
				model[string(k)] = v
			case 1:
				got, err := db.Get(k)
				want, ok := model[string(k)]
				if ok != (err == nil) || !bytes.Equal(got, want) {
					t.Fatalf("Get(%q) = %d bytes, %v; want %d bytes, present %v", k, len(got), err, len(want), ok)
				}
			case 2:
				if err := db.Delete(k); err != nil {
					t.Fatal(err)
				}
				delete(model, string(k))
			case 3:
				staged := map[string][]byte{}
				fail := next()%4 == 0
				err := db.Update(func(tx *kv.Tx) error {
					for n := next() % 8; n > 0; n-- {
						k, v := []byte{'k', next() % 32}, value()
						if err := tx.Put(k, v); err != nil {
							return err
						}
						staged[string(k)] = v
					}
					if fail {
						return errors.New("abort")
					}
					return nil
				})
				if err == nil {
					for k, v := range staged {
						model[k] = v
					}
				} else if !fail && !errors.Is(err, kv.ErrFull) {
					t.Fatal(err)
				}
			case 4: // reopen
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				if db, err = kv.Open(path, opts); err != nil {
					t.Fatal(err)
				}
			case 5: // abandon the handle without Close, as a crash would
				abandoned = append(abandoned, db)
				if db, err = kv.Open(path, opts); err != nil {
					t.Fatal(err)
				}
			}
		}
		for k, want := range model {
			if got, err := db.Get([]byte(k)); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("final Get(%q) = %d bytes, %v; want %d bytes", k, len(got), err, len(want))
			}
		}
		if err := db.Check(); err != nil {
			t.Fatal(err)
		}
	})
}
