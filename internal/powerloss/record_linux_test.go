//go:build linux && (amd64 || arm64)

package powerloss

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
	"golang.org/x/sys/unix"
)

func registerToy() { testproc.Register("toy", toy) }

// toy makes one of each trapped call, on the watched file, its directory, a
// file built beside it and renamed over it, and an unrelated file.
func toy(args []string) error {
	path, unrelated := args[0], args[1]
	ack, err := AckFile()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fd := int(f.Fd())
	must := func(what string, err error) {
		if err != nil {
			panic(fmt.Sprintf("%s: %v", what, err))
		}
	}
	_, err = f.WriteAt(page('a'), 0)
	must("write a", err)
	fmt.Fprintln(ack, "wrote a")
	must("fdatasync", unix.Fdatasync(fd))
	must("ftruncate", unix.Ftruncate(fd, 3*PageSize))
	_, err = f.WriteAt(page('b'), PageSize)
	must("write b", err)
	fmt.Fprintln(ack, "wrote b")
	dir, err := os.Open(filepath.Dir(path))
	must("open dir", err)
	must("fsync dir", dir.Sync())
	m, err := unix.Mmap(fd, 0, 3*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	must("mmap", err)
	copy(m[2*PageSize:], page('c'))
	must("msync", unix.Msync(m[2*PageSize:3*PageSize], unix.MS_SYNC))
	must("fallocate", unix.Fallocate(fd, 0, 0, 4*PageSize))
	o, err := os.Create(unrelated)
	must("create unrelated", err)
	must("fdatasync unrelated", unix.Fdatasync(int(o.Fd())))
	must("sync_file_range", unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE))
	tmp := path + ".tmp"
	tf, err := os.Create(tmp)
	must("create tmp", err)
	_, err = tf.WriteAt(page('d'), 0)
	must("write d", err)
	must("fsync tmp", tf.Sync())
	must("rename", os.Rename(tmp, path))
	must("fsync dir", dir.Sync())
	return nil
}

func record(t *testing.T, role string, args ...string) *Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, err := Record(ctx, Command(t, role, args...), args[0])
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("cannot hold a child at its system calls here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestRecordHoldsEveryCall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	tr := record(t, "toy", path, filepath.Join(t.TempDir(), "unrelated"))
	var got []string
	for _, c := range tr.Calls {
		got = append(got, fmt.Sprintf("%s@%d", c, c.Size))
	}
	want := []string{
		"start@-1",
		"fdatasync(file)@4096",
		"ftruncate(file, 12288)@4096", // held at its entry: still one page
		"fsync(dir)@12288",
		"msync(file, 8192+4096)@12288",
		"fallocate(file, 0+16384)@12288",
		"sync_file_range(file, 0+0)@16384",
		"fsync(other file)@16384",
		"fsync(dir)@4096", // after the rename, the name is the other file's
		"exit@4096",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tr.Ignored == 0 {
		t.Errorf("the fdatasync of an unrelated file was not seen and let through")
	}
	if len(tr.Lines) != 2 || tr.Lines[0] != (Line{"wrote a", 1}) || tr.Lines[1] != (Line{"wrote b", 3}) {
		t.Errorf("lines %v, want \"wrote a\" before call 1 and \"wrote b\" before call 3", tr.Lines)
	}
	images := func(gap int) map[string]bool {
		out := map[string]bool{}
		for _, im := range tr.Images(gap, Options{Random: 50, Torn: 2}) {
			out[describe(im)] = true
		}
		return out
	}
	// Before any fsync of the directory the file may be missing; from then
	// on it may not.
	if g := images(2); !g["missing"] || !g["a"] || !g["ab0"] {
		t.Errorf("gap 2 (ftruncate to fsync(dir)): %v, want missing, a and ab0 among them", g)
	}
	if g := images(3); g["missing"] {
		t.Errorf("gap 3 (after fsync(dir)): %v: the name is durable", g)
	}
	// msync made page 2 durable: no image of gap 4 with three pages has
	// anything but c there; page 1 was never synced and may be lost.
	g4 := images(4)
	for d := range g4 {
		if len(d) >= 3 && d[2] != 'c' {
			t.Errorf("gap 4 (msync to fallocate): image %s lost the msynced page", d)
		}
	}
	if !g4["a0c"] || !g4["abc"] {
		t.Errorf("gap 4: %v, want a0c and abc among them", g4)
	}
	// The rename: in gap 7 the name holds the old file or the new one (whose
	// content its fsync made durable); after the fsync of the directory,
	// only the new one.
	if g := images(7); !g["d"] || g["missing"] || g[""] {
		t.Errorf("gap 7 (fsync(tmp), rename, fsync(dir)): %v, want d, not missing, not empty", g)
	}
	if g := images(8); len(g) != 1 || !g["d"] {
		t.Errorf("gap 8 (after the directory's fsync): %v, want only d", g)
	}
}
