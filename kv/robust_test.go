//go:build unix

package kv

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Bad input through every method: what each one returns for keys and values
// it must refuse, for odd but legal bytes, on a closed or read-only handle, and
// for paths that are not mapkv files. The permission case that needs another
// user is TestNoWritePermission in kv_test.go at the root.

// noPanic runs fn and turns a panic into a test failure naming what, so one
// crash does not hide the other cases.
func noPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", what, r)
		}
	}()
	fn()
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestBadKeysAndValues: every method refuses an empty, nil or too long key and
// a too large value with the documented sentinel, writes nothing, and leaves
// AppendGet's dst as it was.
func TestBadKeysAndValues(t *testing.T) {
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

// TestClosedHandle: after Close every method returns ErrClosed without
// touching the file, Stats is zero, and Close again is nil.
func TestClosedHandle(t *testing.T) {
	db, path := openTemp(t, nil)
	db.Put([]byte("a"), []byte("1"))
	var kept *Tx
	db.Update(func(tx *Tx) error { kept = tx; return nil })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileSum(t, path)
	ran := false
	dst := filepath.Join(t.TempDir(), "snap.kv")
	calls := map[string]error{
		"Get": func() error { v, err := db.Get([]byte("a")); ranIf(&ran, v != nil); return err }(),
		"AppendGet": func() error {
			v, err := db.AppendGet([]byte("x"), []byte("a"))
			ranIf(&ran, string(v) != "x")
			return err
		}(),
		"Put":      db.Put([]byte("a"), []byte("2")),
		"Delete":   db.Delete([]byte("a")),
		"Update":   db.Update(func(*Tx) error { ran = true; return nil }),
		"ForEach":  db.ForEach(func(k, v []byte) error { ran = true; return nil }),
		"Check":    db.Check(),
		"Sync":     db.Sync(),
		"Snapshot": db.Snapshot(dst),
		"Compact":  db.SnapshotWith(dst, SnapshotOptions{Compact: true}),
		"Tx.Get":   func() error { _, err := kept.Get([]byte("a")); return err }(),
		"Tx.Put":   kept.Put([]byte("a"), nil),
		"Tx.Del":   kept.Delete([]byte("a")),
	}
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if ran {
		t.Error("a callback ran or a value was returned on a closed handle")
	}
	if st := db.Stats(); st != (Stats{}) {
		t.Errorf("Stats after Close = %+v, want zero", st)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if db.Path() != path {
		t.Errorf("Path after Close = %q", db.Path())
	}
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a snapshot of a closed handle left %s: %v", dst, err)
	}
	if fileSum(t, path) != before {
		t.Error("calls on a closed handle changed the file")
	}
}

func ranIf(ran *bool, cond bool) {
	if cond {
		*ran = true
	}
}

// TestReadOnlyHandle: writes are refused with ErrReadOnly before fn runs;
// reads, Check, Stats and Snapshot work; nothing changes a byte of the file.
func TestReadOnlyHandle(t *testing.T) {
	db, path := openTemp(t, nil)
	for i := 0; i < 300; i++ {
		db.Put([]byte(fmt.Sprint("k", i)), bytes.Repeat([]byte{byte(i)}, i*20))
	}
	db.Close()
	before := fileSum(t, path)
	ro, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ran := false
	for name, err := range map[string]error{
		"Put":    ro.Put([]byte("k1"), []byte("x")),
		"Delete": ro.Delete([]byte("k1")),
		"Update": ro.Update(func(*Tx) error { ran = true; return nil }),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("read-only %s = %v, want ErrReadOnly", name, err)
		}
	}
	if ran {
		t.Error("a read-only Update ran fn")
	}
	if v, err := ro.Get([]byte("k7")); err != nil || len(v) != 140 {
		t.Errorf("read-only Get = %d bytes, %v", len(v), err)
	}
	n := 0
	if err := ro.ForEach(func(k, v []byte) error { n++; return nil }); err != nil || n != 300 {
		t.Errorf("read-only ForEach: %d keys, %v", n, err)
	}
	if err := ro.Check(); err != nil {
		t.Errorf("read-only Check = %v", err)
	}
	if err := ro.Sync(); err != nil {
		t.Errorf("read-only Sync = %v", err)
	}
	if st := ro.Stats(); st.Keys != 300 || st.WriterPID != 0 {
		t.Errorf("read-only Stats = %+v", st)
	}
	snap := filepath.Join(t.TempDir(), "snap.kv")
	if err := ro.Snapshot(snap); err != nil {
		t.Errorf("read-only Snapshot = %v", err)
	}
	if fileSum(t, path) != before {
		t.Error("a read-only handle changed the file")
	}
	// A read-only Open never creates or initialises a file.
	empty := filepath.Join(t.TempDir(), "empty.kv")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Open(empty, &Options{ReadOnly: true}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("read-only Open(empty file) = %v, want ErrCorrupt", err)
	}
	if st, _ := os.Stat(empty); st.Size() != 0 {
		t.Errorf("read-only Open wrote %d bytes into an empty file", st.Size())
	}
}

// TestNotAFile: a directory, devices, a socket and a FIFO are refused with an
// error, never a hang, and never written.
func TestNotAFile(t *testing.T) {
	dir := t.TempDir()
	for _, ro := range []bool{false, true} {
		if _, err := Open(dir, &Options{ReadOnly: ro}); err == nil {
			t.Errorf("Open(directory, ReadOnly %v) succeeded", ro)
		}
		for _, dev := range []string{"/dev/null", "/dev/zero"} {
			if _, err := Open(dev, &Options{ReadOnly: ro}); !errors.Is(err, ErrInvalid) {
				t.Errorf("Open(%s, ReadOnly %v) = %v, want ErrInvalid", dev, ro, err)
			}
		}
	}
	sock := filepath.Join(dir, "sock")
	if l, err := net.Listen("unix", sock); err == nil {
		defer l.Close()
		for _, ro := range []bool{false, true} {
			if _, err := Open(sock, &Options{ReadOnly: ro}); err == nil {
				t.Errorf("Open(unix socket, ReadOnly %v) succeeded", ro)
			}
		}
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := openWithin(fifo, &Options{}, 2*time.Second); err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("Open(FIFO) = %v, want ErrInvalid", err)
	}
}

// TestReadOnlyFIFO: a read-only Open of a FIFO must return an error, not wait
// for a writer to open the other end.
func TestReadOnlyFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := openWithin(fifo, &Options{ReadOnly: true}, 2*time.Second); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Open(FIFO, ReadOnly) = %v, want ErrInvalid", err)
	}
}

// openWithin opens path and closes it, giving up after d. A FIFO open that
// hangs is released by opening the other end, so no goroutine is left behind.
func openWithin(path string, o *Options, d time.Duration) error {
	done := make(chan error, 1)
	go func() {
		db, err := Open(path, o)
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil { // unblock it
			defer f.Close()
		}
		<-done
		return fmt.Errorf("Open(%s) still blocked after %v", path, d)
	}
}

// TestForeignFilesThroughSymlinks: a symlink to a file that is not a mapkv
// file (short, long, with the magic but a bad checksum, a newer version) is
// ErrCorrupt for both modes, and the target keeps every byte; a symlink to a
// real store works.
func TestForeignFilesThroughSymlinks(t *testing.T) {
	dir := t.TempDir()
	newer := make([]byte, 2*PageSize)
	writeFixedHeader(newer, headerFields{version: formatVersion + 1, pageSize: PageSize, seed: 1})
	badSum := make([]byte, 2*PageSize)
	writeFixedHeader(badSum, headerFields{version: formatVersion, pageSize: PageSize, seed: 1})
	badSum[hdrSeed] ^= 1
	targets := map[string][]byte{
		"short":       []byte("hello\n"),
		"text":        bytes.Repeat([]byte("not a kv file\n"), 2000),
		"magic only":  append(fileMagic[:], make([]byte, PageSize)...),
		"bad sum":     badSum,
		"version 2":   newer,
		"random page": bytes.Repeat([]byte{0xa5, 0x5a, 0x00, 0xff}, PageSize),
	}
	for name, content := range targets {
		target := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(target, content, 0o644); err != nil {
			t.Fatal(err)
		}
		link := target + ".link"
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		for _, ro := range []bool{false, true} {
			var err error
			noPanic(t, "Open("+name+")", func() {
				var db *DB
				if db, err = Open(link, &Options{ReadOnly: ro}); err == nil {
					db.Close()
				}
			})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Open(symlink to %s, ReadOnly %v) = %v, want ErrCorrupt", name, ro, err)
			}
		}
		if got, _ := os.ReadFile(target); !bytes.Equal(got, content) {
			t.Errorf("Open through a symlink changed the %s target", name)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the symlink to %s was replaced: %v", name, err)
		}
	}
	real := filepath.Join(dir, "real.kv")
	db, err := Open(real, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Put([]byte("k"), []byte("v"))
	db.Close()
	os.Symlink(real, real+".link")
	db, err = Open(real+".link", nil)
	if err != nil {
		t.Fatalf("Open(symlink to a store) = %v", err)
	}
	defer db.Close()
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get through a symlink = %q, %v", v, err)
	}
}

// TestFileMode: new files are 0600 (less the umask) unless Options.Mode says
// otherwise; Mode never changes an existing file; bad modes and negative sizes
// are ErrInvalid.
func TestFileMode(t *testing.T) {
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	dir := t.TempDir()
	for _, c := range []struct {
		mode, want os.FileMode
	}{
		{0, 0o600},
		{0o640, 0o640},
		{0o644, 0o644},
		{0o400, 0o400},
	} {
		path := filepath.Join(dir, fmt.Sprintf("m%o.kv", c.mode))
		db, err := Open(path, &Options{Mode: c.mode})
		if err != nil {
			t.Fatalf("Open(Mode %o) = %v", c.mode, err)
		}
		db.Close()
		want := c.want &^ os.FileMode(umask)
		if st, _ := os.Stat(path); st.Mode().Perm() != want {
			t.Errorf("Mode %o: new file is %v, want %v", c.mode, st.Mode().Perm(), want)
		}
	}
	existing := filepath.Join(dir, "m0.kv")
	db, err := Open(existing, &Options{Mode: 0o666})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if st, _ := os.Stat(existing); st.Mode().Perm() != 0o600&^os.FileMode(umask) {
		t.Errorf("Mode changed an existing file to %v", st.Mode().Perm())
	}
	for _, o := range []Options{
		{Mode: os.ModeSetuid | 0o600},
		{Mode: os.ModeDir | 0o700},
		{InitialSize: -1},
		{MaxSize: -1},
		{LockTimeout: -time.Second},
	} {
		path := filepath.Join(dir, "bad.kv")
		if _, err := Open(path, &o); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%+v) = %v, want ErrInvalid", o, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%+v) created the file", o)
		}
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
