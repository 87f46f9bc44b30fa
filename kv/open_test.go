//go:build unix

// What Open accepts and refuses: missing, empty, foreign and write-protected
// files, directories, devices, sockets, FIFOs, symlinks, file modes and bad
// options. The permission case that needs another user is
// TestNoWritePermission in the root package (permission_test.go).

package kv

import (
	"bytes"
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

// TestOtherFormatVersions: a file of another format version is ErrVersion
// (and ErrCorrupt) with the remedy in the message, read before the checksum,
// whose definition is the version's own: a version-1 or version-3 header
// whose checksum is not version 2's still says which version it is.
func TestOtherFormatVersions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		version uint32
		remedy  string
	}{
		{1, "kvtool dump, then load"},
		{formatVersion + 1, "open it with a newer mapkv"},
	} {
		for _, sumOK := range []bool{true, false} {
			page := make([]byte, 2*PageSize)
			writeFixedHeader(page, headerFields{version: tc.version, pageSize: PageSize, seed: 1, logPages: defaultLogPages})
			if !sumOK {
				page[hdrSum] ^= 0xff // another version's checksum need not be this one's
			}
			path := filepath.Join(dir, fmt.Sprintf("v%d-%v.kv", tc.version, sumOK))
			if err := os.WriteFile(path, page, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, ro := range []bool{false, true} {
				db, err := Open(path, &Options{ReadOnly: ro})
				if err == nil {
					db.Close()
				}
				if !errors.Is(err, ErrVersion) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.remedy) {
					t.Errorf("Open(version %d, checksum ok %v, ReadOnly %v) = %v; want ErrVersion and ErrCorrupt saying %q", tc.version, sumOK, ro, err, tc.remedy)
				}
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, page) {
				t.Errorf("Open changed the version-%d file", tc.version)
			}
		}
	}
}
