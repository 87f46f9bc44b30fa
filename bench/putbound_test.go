package main

import "testing"

// BenchmarkPutBound is issue 11's Put cost at the bound against Put below
// it, in one run: Put of new keys with 1 KiB values into a cache file far
// below its MaxSize, and into one filled to its MaxSize. The target is
// at-bound <= 1.5x below. A failing Put stops the benchmark with its number
// and error. `go run . -putbound` prints the two side by side with the ratio.
//
//	go test -run '^$' -bench PutBound -benchtime 20000x
func BenchmarkPutBound(b *testing.B) {
	b.Run("below", func(b *testing.B) {
		c, err := openBoundCache(belowMax)
		if err != nil {
			b.Fatal(err)
		}
		defer c.close()
		for range 1000 {
			if err := c.put(); err != nil {
				b.Fatalf("before timing: %v", err)
			}
		}
		b.SetBytes(boundValue)
		b.ResetTimer()
		for range b.N {
			if err := c.put(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("at-bound", func(b *testing.B) {
		c, err := openBoundCache(boundMax)
		if err != nil {
			b.Fatal(err)
		}
		defer c.close()
		if err := c.fill(); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(boundValue)
		b.ResetTimer()
		for range b.N {
			if err := c.put(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
