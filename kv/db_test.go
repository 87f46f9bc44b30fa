//go:build unix

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
)

func openTemp(t *testing.T, o *Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.kv")
	db, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestKeyAndValueLimits(t *testing.T) {
	db, _ := openTemp(t, nil)
	if err := db.Put(nil, []byte("v")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Put(nil key) = %v, want ErrInvalid", err)
	}
	if _, err := db.Get([]byte{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Get(empty key) = %v, want ErrInvalid", err)
	}
	if err := db.Put(make([]byte, MaxKeySize+1), nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put(long key) = %v, want ErrTooLarge", err)
	}
	if err := db.Put([]byte("k"), make([]byte, MaxValueSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put(long value) = %v, want ErrTooLarge", err)
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

func TestClosedAndReadOnly(t *testing.T) {
	db, path := openTemp(t, nil)
	if err := db.Put([]byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := ro.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("read-only Get = %q, %v", v, err)
	}
	if err := ro.Put([]byte("a"), []byte("2")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only Put = %v", err)
	}
	if err := ro.Delete([]byte("a")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only Delete = %v", err)
	}
	ran := false
	if err := ro.Update(func(*Tx) error { ran = true; return nil }); !errors.Is(err, ErrReadOnly) || ran {
		t.Fatalf("read-only Update = %v, fn ran %v", err, ran)
	}
	if err := ro.Sync(); err != nil {
		t.Fatalf("read-only Sync = %v", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ro.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	for name, err := range map[string]error{
		"Get":     func() error { _, err := ro.Get([]byte("a")); return err }(),
		"Put":     db.Close(),
		"Put2":    db.Put([]byte("a"), nil),
		"Delete":  db.Delete([]byte("a")),
		"Update":  db.Update(func(*Tx) error { return nil }),
		"ForEach": db.ForEach(func(k, v []byte) error { return nil }),
		"Sync":    db.Sync(),
		"Check":   db.Check(),
	} {
		if name != "Put" && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if st := db.Stats(); st != (Stats{}) {
		t.Errorf("Stats after Close = %+v", st)
	}
}

func TestUpdateContract(t *testing.T) {
	db, _ := openTemp(t, nil)
	db.Put([]byte("x"), []byte("old"))
	boom := errors.New("boom")
	calls := 0
	err := db.Update(func(tx *Tx) error {
		calls++
		if err := tx.Put([]byte("x"), []byte("new")); err != nil {
			return err
		}
		if v, err := tx.Get([]byte("x")); err != nil || string(v) != "new" {
			t.Errorf("tx.Get sees %q, %v; want its own write", v, err)
		}
		if v, _ := db.Get([]byte("x")); string(v) != "old" {
			t.Errorf("a reader saw the uncommitted value %q", v)
		}
		tx.Delete([]byte("y"))
		return boom
	})
	if err != boom || calls != 1 {
		t.Fatalf("Update = %v after %d calls; want fn's error after one call", err, calls)
	}
	if v, _ := db.Get([]byte("x")); string(v) != "old" {
		t.Fatalf("a failed Update left %q", v)
	}
	// The DB's own writes inside fn are refused, not deadlocked.
	err = db.Update(func(tx *Tx) error {
		if err := db.Put([]byte("z"), nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("db.Put inside Update = %v, want ErrInvalid", err)
		}
		if err := db.Update(func(*Tx) error { return nil }); !errors.Is(err, ErrInvalid) {
			t.Errorf("nested Update = %v, want ErrInvalid", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var kept *Tx
	db.Update(func(tx *Tx) error { kept = tx; return nil })
	if err := kept.Put([]byte("late"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Tx.Put after Update = %v, want ErrClosed", err)
	}
}

func TestOpenRules(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.kv")
	if _, err := Open(missing, &Options{ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read-only Open of a missing file = %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("read-only Open created the file")
	}
	// New files are 0600.
	db, err := Open(missing, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if st, _ := os.Stat(missing); st.Mode().Perm() != 0o600 {
		t.Fatalf("new file mode %v, want 0600", st.Mode().Perm())
	}
	// A foreign file is refused and left as it was.
	foreign := filepath.Join(dir, "foreign")
	content := bytes.Repeat([]byte("not a kv file "), 1000)
	os.WriteFile(foreign, content, 0o600)
	if _, err := Open(foreign, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open(foreign) = %v, want ErrCorrupt", err)
	}
	if got, _ := os.ReadFile(foreign); !bytes.Equal(got, content) {
		t.Fatal("Open wrote to a foreign file")
	}
	// An empty file is initialised.
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if db, err := Open(empty, nil); err != nil {
		t.Fatalf("Open(empty file) = %v", err)
	} else {
		db.Close()
	}
	// A directory is refused.
	if _, err := Open(dir, nil); err == nil {
		t.Fatal("Open(directory) succeeded")
	}
	// MaxSize is the file's: 0 takes it, another value is refused.
	capped := filepath.Join(dir, "capped.kv")
	db, err = Open(capped, &Options{MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(capped, nil); err != nil || db.Stats().MaxSize != 1<<20 {
		t.Fatalf("reopen with MaxSize 0: %v", err)
	}
	db.Close()
	if _, err := Open(capped, &Options{MaxSize: 2 << 20}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "MaxSize") {
		t.Fatalf("reopen with another MaxSize = %v, want ErrInvalid naming MaxSize", err)
	}
}

func TestWriteProtectedFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write any file")
	}
	db, path := openTemp(t, nil)
	db.Close()
	os.Chmod(path, 0o400)
	if _, err := Open(path, nil); !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "ReadOnly") {
		t.Fatalf("Open(read-only file) = %v, want a permission error that suggests ReadOnly", err)
	}
}

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

func TestLockTimeout(t *testing.T) {
	db, path := openTemp(t, nil)
	other, err := Open(path, &Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	release := make(chan struct{})
	held := make(chan struct{})
	go db.Update(func(tx *Tx) error {
		close(held)
		<-release
		return nil
	})
	<-held
	if err := other.Put([]byte("k"), nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("Put while another handle holds the lock = %v, want ErrLocked", err)
	}
	if pid := other.Stats().WriterPID; pid != os.Getpid() {
		t.Errorf("Stats.WriterPID = %d, want %d", pid, os.Getpid())
	}
	close(release)
	if err := other.Put([]byte("k"), nil); err != nil {
		t.Fatalf("Put after the lock was released = %v", err)
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

func TestWriteToIsAStore(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "a.kv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 1000; i++ {
		if err := db.Put([]byte(fmt.Sprintf("k%d", i)), bytes.Repeat([]byte{byte(i)}, i%3000)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := db.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) || n != db.Stats().FileSize {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes, file size %d", n, err, buf.Len(), db.Stats().FileSize)
	}
	copyPath := filepath.Join(dir, "b.kv")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(copyPath, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Keys != 1000 || st.WriterPID != 0 {
		t.Fatalf("copy has %d keys, writer pid %d", st.Keys, st.WriterPID)
	}
	v, err := c.Get([]byte("k999"))
	if err != nil || !bytes.Equal(v, bytes.Repeat([]byte{byte(999 % 256)}, 999)) {
		t.Fatalf("copy's k999: %d bytes, %v", len(v), err)
	}
}
