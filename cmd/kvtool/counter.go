package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mapkv/mapkv/kv"
)

// Counters come in two forms (docs/cli.md, "Counters"): kv.Add's, an 8-byte
// little-endian two's-complement integer, which applications share through
// the library, and decimal text ("42", "-7"), what "kvtool put db k 5" and
// Redis users store. incr keeps the form a key has; get --int reads both.

// decimalCounter reports whether v is a counter in decimal text: an optional
// "-" and 1 to 19 digits that fit an int64, nothing else (no "+", spaces or
// newline), so that writing the number back gives the same bytes.
func decimalCounter(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 20 {
		return 0, false
	}
	for i, c := range v {
		if !('0' <= c && c <= '9' || c == '-' && i == 0 && len(v) > 1) {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != string(v) {
		return 0, false // "007", "-0": not how a number is written back
	}
	return n, true
}

// readCounter returns the counter v holds. A value that reads as decimal
// text is text, even when it has 8 bytes: only an 8-byte integer from
// 0x3030303030303030 to 0x3939393939393939 (about 3.5e18 to 4.1e18, whose
// bytes are all digits) is mistaken that way.
func readCounter(v []byte) (n int64, ok bool) {
	if n, ok := decimalCounter(v); ok {
		return n, true
	}
	if len(v) == 8 {
		return int64(binary.LittleEndian.Uint64(v)), true
	}
	return 0, false
}

// counterRetries bounds incr's compare-and-swap loop on a decimal counter
// that other writers keep changing; then it gives up with kv.ErrBusy.
const counterRetries = 1000

// addCounter adds delta to the counter under key, keeping its form, and
// returns the sum. An absent key becomes an 8-byte counter (kv.AddTTL) that
// expires after ttl if ttl > 0. A decimal counter is replaced by
// compare-and-swap with kv.KeepTTL, which keeps its TTL, so the addition is
// atomic across processes in both forms. Both wrap around on overflow, as kv.Add does.
func addCounter(db *kv.DB, key []byte, delta int64, ttl time.Duration) (int64, error) {
	for range counterRetries {
		v, err := db.Get(key)
		if err != nil && !errors.Is(err, kv.ErrNotFound) {
			return 0, err
		}
		n, text := decimalCounter(v)
		if err != nil || !text && len(v) == 8 {
			sum, err := db.AddTTL(key, delta, ttl)
			if errors.Is(err, kv.ErrInvalid) {
				continue // rewritten as text since Get, or not a counter: look again
			}
			return sum, err
		}
		if !text {
			return 0, errNotCounter{size: len(v)}
		}
		sum := n + delta
		ok, err := db.CompareAndSwap(key, v, strconv.AppendInt(nil, sum, 10), kv.KeepTTL)
		if err != nil || ok {
			return sum, err
		}
	}
	return 0, fmt.Errorf("the counter kept changing under incr: %w", kv.ErrBusy)
}

// errNotCounter is a value that is neither form of counter.
type errNotCounter struct{ size int }

func (e errNotCounter) Error() string {
	return fmt.Sprintf("holds %s: a counter is decimal text (42) or an 8-byte little-endian integer", plural(int64(e.size), "byte"))
}
