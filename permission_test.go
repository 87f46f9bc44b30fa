//go:build unix

// A user who may only read the file.

package mapkv_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

func init() {
	testproc.Register("nobody", func(args []string) error { return noWriteChild(args[0]) })
}

// noWriteChild runs as user nobody against a store it may read but not write,
// in a directory it may not write.
func noWriteChild(path string) error {
	_, err := kv.Open(path, nil)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "ReadOnly") {
		return fmt.Errorf("Open(file without write permission) = %v; want a permission error that suggests ReadOnly", err)
	}
	db, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("Open(ReadOnly) = %v", err)
	}
	defer db.Close()
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v" {
		return fmt.Errorf("read-only Get = %q, %v", v, err)
	}
	if err := db.Check(); err != nil {
		return fmt.Errorf("read-only Check = %v", err)
	}
	if err := db.Put([]byte("k"), nil); !errors.Is(err, kv.ErrReadOnly) {
		return fmt.Errorf("read-only Put = %v", err)
	}
	dir := filepath.Dir(path)
	if err := db.Snapshot(filepath.Join(dir, "snap.kv")); !errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("Snapshot into a directory without write permission = %v", err)
	}
	if _, err := kv.Open(filepath.Join(dir, "new.kv"), nil); !errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("Open(new file in a directory without write permission) = %v", err)
	}
	fmt.Println("ok")
	return nil
}

// TestNoWritePermission: a user who may only read the file gets an error that
// suggests ReadOnly from a read-write Open, and a ReadOnly Open works. Root
// may write any file, so as root the check runs in a child as user nobody;
// kv's TestWriteProtectedFile covers the non-root case.
func TestNoWritePermission(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as user nobody; see kv's TestWriteProtectedFile")
	}
	dir, err := os.MkdirTemp("", "mapkv-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ro.kv")
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Put([]byte("k"), []byte("v"))
	db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	cmd := testproc.Command(t, "nobody", path)
	// nobody cannot reach the test binary in go test's private work
	// directory: run a copy.
	cmd.Path = testproc.CopyBinary(t, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if errors.Is(err, fs.ErrPermission) {
		t.Skipf("cannot start a child as nobody here: %v", err)
	}
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("child as nobody: %v, said %q", err, out)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the read-only user changed the file")
	}
}
