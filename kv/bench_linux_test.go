package kv

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkCopyFileRange is the baseline: the kernel copying the same file,
// with the same fsync and rename a snapshot does.
func BenchmarkCopyFileRange(b *testing.B) {
	db := loadedDB(b)
	size := db.Stats().FileSize
	dst := filepath.Join(benchDir, "cfr.kv")
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := os.Open(db.Path())
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(dst + ".tmp")
		if err != nil {
			b.Fatal(err)
		}
		for done := int64(0); done < size; {
			n, err := unix.CopyFileRange(int(src.Fd()), nil, int(out.Fd()), nil, int(size-done), 0)
			if err != nil {
				b.Fatal(err)
			}
			done += int64(n)
		}
		out.Sync()
		out.Close()
		src.Close()
		os.Rename(dst+".tmp", dst)
	}
	b.StopTimer()
	os.Remove(dst)
}
