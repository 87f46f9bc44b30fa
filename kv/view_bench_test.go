//go:build unix

package kv

import (
	"fmt"
	"sync"
	"testing"
)

// View against the same number of plain Gets, at benchKeys keys, in the
// same run: what a consistent read of n keys costs on top of n reads.

func benchGets(b *testing.B, n int) {
	db := loadedDB(b)
	order := randomOrder(benchKeys)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < n; j++ {
			if _, err := db.AppendGet(buf[:0], benchKeysB[order[(i*n+j)%benchKeys]]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchView(b *testing.B, n int, writer bool) {
	db := loadedDB(b)
	order := randomOrder(benchKeys)
	buf := make([]byte, 0, 256)
	var stop chan struct{}
	var wg sync.WaitGroup
	if writer {
		// A writer committing without pause, on keys the views do not read
		// (a commit anywhere makes a View run again, wherever it wrote).
		stop = make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			val := make([]byte, benchVal)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				db.Put([]byte(fmt.Sprint("view-writer-", i%1000)), val)
			}
		}()
	}
	retries, locks := db.viewRetries.Load(), db.viewLocks.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := db.View(func(tx *ReadTx) error {
			for j := 0; j < n; j++ {
				if _, err := tx.AppendGet(buf[:0], benchKeysB[order[(i*n+j)%benchKeys]]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if writer {
		close(stop)
		wg.Wait()
	}
	b.ReportMetric(float64(db.viewRetries.Load()-retries)/float64(b.N), "retries/op")
	b.ReportMetric(float64(db.viewLocks.Load()-locks)/float64(b.N), "locked/op")
}

func BenchmarkGets2(b *testing.B)             { benchGets(b, 2) }
func BenchmarkGets10(b *testing.B)            { benchGets(b, 10) }
func BenchmarkView2(b *testing.B)             { benchView(b, 2, false) }
func BenchmarkView10(b *testing.B)            { benchView(b, 10, false) }
func BenchmarkView2UnderWriter(b *testing.B)  { benchView(b, 2, true) }
func BenchmarkView10UnderWriter(b *testing.B) { benchView(b, 10, true) }
