// Command livewriter writes a mapkv file continuously with self-validating
// values, for the Python reader's live test (contrib/python/test_live.py).
//
// Every value it stores is
//
//	v1|KEY|WRITER|SEQ|EXPIRY|FILLER|SUM
//
// where EXPIRY is the Unix millisecond before which the value must not expire
// (0 for none), FILLER a run of bytes derived from SEQ whose length spans slab
// records and chains, and SUM the first 16 hex digits of SHA-256 of everything
// before the last '|'. A reader that returns a value checks that it names the
// key it asked for (no foreign value) and that SUM holds (no torn value).
//
// With -init it stores every churn key, then the stable keys (stable:N, and a
// few binary ones), which no writer touches again, and exits: a reader must
// find every stable key at every moment. Stored after the churn keys, many
// stable keys sit past their home slot, so that deletions of churn keys move
// them (a backward shift) while readers look for them. Without it, it runs for -duration doing Puts, Deletes, PutTTLs
// (short TTLs, to exercise expiry, and long ones) and Updates of several keys
// (which open windows) on the churn keys, then prints "ops=N" and exits.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func main() {
	path := flag.String("file", "", "the mapkv file")
	initOnly := flag.Bool("init", false, "store the stable keys and exit")
	stable := flag.Int("stable", 200, "stable keys")
	keys := flag.Int("keys", 2000, "churn keys")
	id := flag.Int("id", 1, "this writer's id, part of every value")
	duration := flag.Duration("duration", 5*time.Second, "how long to write")
	rate := flag.Int("rate", 0, "operations per second, 0 = as fast as possible")
	maxSize := flag.Int64("max-size", 0, "the file's bound (with -evict: a cache)")
	evict := flag.Bool("evict", false, "make the file a cache")
	flag.Parse()
	if *path == "" {
		fmt.Fprintln(os.Stderr, "livewriter: -file is required")
		os.Exit(2)
	}
	db, err := kv.Open(*path, &kv.Options{MaxSize: *maxSize, Evict: *evict})
	if err != nil {
		fmt.Fprintln(os.Stderr, "livewriter:", err)
		os.Exit(1)
	}
	w := &writer{db: db, id: *id, rng: rand.New(rand.NewPCG(uint64(*id), uint64(time.Now().UnixNano())))}
	if *initOnly {
		err = w.initKeys(*keys, *stable)
	} else {
		err = w.run(*keys, *duration, *rate)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "livewriter:", err)
		os.Exit(1)
	}
	fmt.Printf("ops=%d\n", w.seq)
}

type writer struct {
	db  *kv.DB
	id  int
	rng *rand.Rand
	seq int
}

// StableKey returns the i-th stable key; every eighth is binary, for list's quoting.
func StableKey(i int) []byte {
	if i%8 == 7 {
		return []byte(fmt.Sprintf("stable:\x00\xff\t%d", i))
	}
	return []byte(fmt.Sprintf("stable:%d", i))
}

func (w *writer) initKeys(keys, n int) error {
	for i := 0; i < keys; i++ {
		k := []byte("churn:" + strconv.Itoa(i))
		if err := w.db.Put(k, w.value(k, 0, w.fill())); err != nil {
			return fmt.Errorf("put %q: %w", k, err)
		}
	}
	for i := 0; i < n; i++ {
		k := StableKey(i)
		if err := w.db.Put(k, w.value(k, 0, i*97%6000)); err != nil {
			return fmt.Errorf("put %q: %w", k, err)
		}
	}
	return nil
}

// value builds a self-validating value for key; expiry is Unix ms or 0.
func (w *writer) value(key []byte, expiry int64, fill int) []byte {
	w.seq++
	b := []byte("v1|")
	b = append(b, key...)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(w.id), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(w.seq), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, expiry, 10)
	b = append(b, '|')
	for i := 0; i < fill; i++ {
		b = append(b, byte('a'+(w.seq+i)%26))
	}
	sum := sha256.Sum256(b)
	b = append(b, '|')
	return append(b, hex.EncodeToString(sum[:8])...)
}

// fill picks a filler length: mostly small slab records, some large slab
// records, and some chains of up to four pages.
func (w *writer) fill() int {
	switch r := w.rng.IntN(100); {
	case r < 70:
		return w.rng.IntN(100)
	case r < 90:
		return 100 + w.rng.IntN(1900)
	default:
		return 2000 + w.rng.IntN(14000)
	}
}

func (w *writer) churnKey(keys int) []byte {
	return []byte("churn:" + strconv.Itoa(w.rng.IntN(keys)))
}

// ttl picks a short TTL (it expires during the test) or a long one.
func (w *writer) ttl() time.Duration {
	if w.rng.IntN(2) == 0 {
		return time.Duration(100+w.rng.IntN(800)) * time.Millisecond
	}
	return time.Hour
}

func (w *writer) run(keys int, d time.Duration, rate int) error {
	start := time.Now()
	deadline := start.Add(d)
	for ops := 0; ; ops++ {
		if ops%64 == 0 {
			now := time.Now()
			if now.After(deadline) {
				return nil
			}
			if rate > 0 {
				due := start.Add(time.Duration(ops) * time.Second / time.Duration(rate))
				if wait := due.Sub(now); wait > 0 {
					time.Sleep(wait)
				}
			}
		}
		if err := w.op(keys); err != nil && !errors.Is(err, kv.ErrFull) {
			return err
		}
	}
}

func (w *writer) op(keys int) error {
	switch r := w.rng.IntN(100); {
	case r < 45:
		k := w.churnKey(keys)
		return w.db.Put(k, w.value(k, 0, w.fill()))
	case r < 70:
		return w.db.Delete(w.churnKey(keys))
	case r < 82:
		k := w.churnKey(keys)
		ttl := w.ttl()
		// The value promises less than the record holds: kv's expiry is the
		// time of the put plus ttl, after this clock read.
		exp := time.Now().Add(ttl).UnixMilli()
		return w.db.PutTTL(k, w.value(k, exp, w.fill()), ttl)
	default:
		n := 2 + w.rng.IntN(3)
		return w.db.Update(func(tx *kv.Tx) error {
			for i := 0; i < n; i++ {
				k := w.churnKey(keys)
				if w.rng.IntN(3) == 0 {
					if err := tx.Delete(k); err != nil && !errors.Is(err, kv.ErrNotFound) {
						return err
					}
					continue
				}
				if err := tx.Put(k, w.value(k, 0, w.fill())); err != nil {
					return err
				}
			}
			return nil
		})
	}
}
