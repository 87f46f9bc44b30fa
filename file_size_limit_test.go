//go:build unix

// A process under RLIMIT_FSIZE: growth failing with EFBIG is an error and the
// store stays usable.

package mapkv_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

func init() {
	testproc.Register("fsize", func(args []string) error {
		limit, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return err
		}
		return fileSizeChild(args[0], limit)
	})
}

// fsKey and fsValue are what fileSizeChild stores: 100-byte values in one size
// class, and every 50th a chained 6000-byte value.
func fsKey(i int) []byte { return []byte(fmt.Sprintf("f%06d", i)) }

func fsValue(i, gen int) []byte {
	n := 100
	if i%50 == 49 {
		n = 6000
	}
	return bytes.Repeat([]byte{byte('A' + (i+gen)%26)}, n)
}

// fileSizeChild sets RLIMIT_FSIZE (Go ignores SIGXFSZ, so growing the file
// fails with EFBIG instead of killing the process), writes until a Put
// fails, and checks what the store does at its limit. It prints "ok <keys
// stored>" when all is as it should be.
func fileSizeChild(path string, limit int64) error {
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(limit), Max: uint64(limit)}); err != nil {
		return err
	}
	db, err := kv.Open(path, &kv.Options{InitialSize: kv.MinFileSize})
	if err != nil {
		return err
	}
	defer db.Close()
	n := 0
	var putErr error
	for ; n < 1<<20; n++ {
		if putErr = db.Put(fsKey(n), fsValue(n, 0)); putErr != nil {
			break
		}
	}
	causeOK := func(what string, err error) error {
		switch {
		case err == nil:
			return fmt.Errorf("%s past the file size limit succeeded", what)
		case errors.Is(err, kv.ErrCorrupt):
			return fmt.Errorf("%s at the file size limit = %v: ErrCorrupt", what, err)
		case !errors.Is(err, syscall.EFBIG) || !strings.Contains(err.Error(), "file too large"):
			return fmt.Errorf("%s at the file size limit = %v: the cause (EFBIG, file too large) is not in it", what, err)
		}
		return nil
	}
	if err := causeOK("Put", putErr); err != nil {
		return err
	}
	if err := causeOK("a second Put", db.Put([]byte("big"), make([]byte, 300<<10))); err != nil {
		return err
	}
	if st := db.Stats(); st.FileSize > limit || st.Keys != int64(n) {
		return fmt.Errorf("at the limit: %d bytes (limit %d), %d keys (stored %d)", st.FileSize, limit, st.Keys, n)
	}
	// An overwrite needs a free object of its class before the old one is
	// freed: it may fail here, but only for the same reason.
	if err := db.Put(fsKey(0), fsValue(0, 1)); err != nil {
		if err := causeOK("an overwrite", err); err != nil {
			return err
		}
	}
	for i := 0; i < 10; i++ { // deletes always fit, and make room
		if err := db.Delete(fsKey(i)); err != nil {
			return fmt.Errorf("Delete at the limit: %v", err)
		}
	}
	for i := 10; i < 20; i++ {
		if err := db.Put(fsKey(i), fsValue(i, 1)); err != nil {
			return fmt.Errorf("same-size overwrite after deletes at the limit: %v", err)
		}
	}
	var txErr error
	err = db.Update(func(tx *kv.Tx) error {
		if err := tx.Put(fsKey(20), fsValue(20, 1)); err != nil {
			return err
		}
		txErr = tx.Put([]byte("big"), make([]byte, 300<<10))
		return nil // the failed Put is undone; the first one commits
	})
	if err != nil {
		return fmt.Errorf("Update at the limit: %v", err)
	}
	if err := causeOK("Tx.Put", txErr); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		v, err := db.Get(fsKey(i))
		switch {
		case i < 10:
			if !errors.Is(err, kv.ErrNotFound) {
				return fmt.Errorf("deleted %s: %q, %v", fsKey(i), v, err)
			}
		case i <= 20:
			if err != nil || !bytes.Equal(v, fsValue(i, 1)) {
				return fmt.Errorf("overwritten %s: %d bytes, %v", fsKey(i), len(v), err)
			}
		default:
			if err != nil || !bytes.Equal(v, fsValue(i, 0)) {
				return fmt.Errorf("stored %s: %d bytes, %v", fsKey(i), len(v), err)
			}
		}
	}
	if _, err := db.Get([]byte("big")); !errors.Is(err, kv.ErrNotFound) {
		return fmt.Errorf("a failed Put left its key: %v", err)
	}
	count := 0
	if err := db.ForEach(func(k, v []byte) error { count++; return nil }); err != nil || count != n-10 {
		return fmt.Errorf("ForEach at the limit: %d keys, %v", count, err)
	}
	if err := db.Check(); err != nil {
		return err
	}
	fmt.Printf("ok %d %d %s\n", n, db.Stats().FileSize, strings.ReplaceAll(putErr.Error(), " ", "_"))
	return nil
}

// TestFileSizeLimit: a process whose file size limit stops the file from
// growing gets an error naming the cause from Put (not a crash, not
// ErrCorrupt); what it stored stays intact and readable, deletes and writes
// that fit still work, and the file checks clean, there and afterwards in a
// process without the limit, which can grow it again.
func TestFileSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fsize.kv")
	const limit = 1 << 20
	cmd := testproc.Command(t, "fsize", path, strconv.Itoa(limit))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child under RLIMIT_FSIZE: %v", err)
	}
	var n, size int
	var msg string
	if _, err := fmt.Sscanf(string(out), "ok %d %d %s", &n, &size, &msg); err != nil || n < 1000 {
		t.Fatalf("child said %q", out)
	}
	t.Logf("under a %d-byte limit: %d keys in a %d-byte file, then Put: %s", limit, n, size, strings.ReplaceAll(msg, "_", " "))
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	for i := 21; i < n; i++ {
		if v, err := db.Get(fsKey(i)); err != nil || !bytes.Equal(v, fsValue(i, 0)) {
			t.Fatalf("Get(%s) = %d bytes, %v", fsKey(i), len(v), err)
		}
	}
	if err := db.Put([]byte("big"), make([]byte, 300<<10)); err != nil {
		t.Fatalf("Put without the limit: %v", err)
	}
	if st := db.Stats(); st.FileSize <= limit {
		t.Fatalf("the file did not grow past the old limit: %d bytes", st.FileSize)
	}
}
