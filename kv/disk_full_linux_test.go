//go:build linux

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mountSmallDisk mounts a tmpfs of size bytes on a fresh directory and
// returns it; the test is skipped where mounting is not allowed (not root,
// no CAP_SYS_ADMIN, a container without it).
func mountSmallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a %d-byte tmpfs to fill (%v): disk full is tested only where mount(2) is allowed", size, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestDiskFull fills a real (tmpfs) file system: growth reserves blocks
// before the new size is published, so a full disk is ENOSPC from the write
// that needed the room, never a SIGBUS later, and what was stored stays.
func TestDiskFull(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("Sync=%v", sync), func(t *testing.T) {
			dir := mountSmallDisk(t, 2<<20)
			path := filepath.Join(dir, "full.kv")
			db, err := Open(path, &Options{Sync: sync, InitialSize: MinFileSize})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { db.Close() }()
			key := func(i int) []byte { return []byte(fmt.Sprintf("k%06d", i)) }
			value := func(i, gen int) []byte {
				n := 200
				if i%40 == 39 {
					n = 9000 // a chained value now and then
				}
				return bytes.Repeat([]byte{byte('a' + (i+gen)%26)}, n)
			}
			n := 0
			var putErr error
			for ; n < 100000; n++ {
				if putErr = db.Put(key(n), value(n, 0)); putErr != nil {
					break
				}
			}
			if putErr == nil {
				t.Fatalf("%d Puts on a 2 MiB disk all succeeded", n)
			}
			if !errors.Is(putErr, syscall.ENOSPC) || errors.Is(putErr, ErrCorrupt) {
				t.Fatalf("Put on a full disk = %v, want an error wrapping ENOSPC and not ErrCorrupt", putErr)
			}
			t.Logf("%d values stored before the disk was full: %v", n, putErr)
			if err := db.Put([]byte("big"), make([]byte, 512<<10)); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("a second, larger Put on a full disk = %v, want ENOSPC", err)
			}
			checkAll := func(what string, db *DB, gen func(i int) int) {
				t.Helper()
				for i := 0; i < n; i++ {
					v, err := db.Get(key(i))
					if err != nil || !bytes.Equal(v, value(i, gen(i))) {
						t.Fatalf("%s: key %d = %.20q, %v", what, i, v, err)
					}
				}
				if err := db.Check(); err != nil {
					t.Fatalf("%s: Check: %v", what, err)
				}
			}
			checkAll("after the disk filled", db, func(int) int { return 0 })

			// Deletes need no room; same-size writes then reuse what they freed.
			for i := 0; i < n; i += 2 {
				if err := db.Delete(key(i)); err != nil {
					t.Fatalf("Delete on a full disk: %v", err)
				}
			}
			for i := 0; i < n; i += 2 {
				if err := db.Put(key(i), value(i, 1)); err != nil {
					t.Fatalf("Put %d into space a Delete freed on a full disk: %v", i, err)
				}
			}
			gen := func(i int) int { return 1 - i%2 }
			checkAll("after deletes and rewrites", db, gen)

			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db, err = Open(path, nil)
			if err != nil {
				t.Fatalf("reopen after the disk filled: %v", err)
			}
			checkAll("reopened", db, gen)
		})
	}
}
