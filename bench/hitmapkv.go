package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mapkv/mapkv/kv"
)

// mapkv in the hit-ratio comparison: a cache file opened with
// Options{MaxSize, Evict: true} on tmpfs, used through the public API only
// (AppendGet, then Put on a miss).
//
// Capacity. mapkv is bounded in bytes of file, and the file also holds its
// header, log, slot table and the records' headers and padding, so MaxSize
// cannot be the other caches' capacity. It is calibrated instead: a file is
// filled with distinct keys of the mode's sizes until it has evicted for a
// while, and MaxSize is moved (secant steps) until the entries it holds
// (entries mode) or their key-plus-value bytes (bytes mode) at steady state
// equal the capacity. Each replay then reports what the file actually held,
// sampled during the measured requests.

// shmDir is where cache files go: tmpfs if the host has it, so that the
// replay measures the policy, not a disk.
func shmDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

type mapkvCache struct {
	db        *kv.DB
	dir       string
	bytesMode bool
	pool      []byte // value bytes
	kb        [keySize]byte
	buf       []byte
	maxSize   int64
}

// openMapkvCache creates a fresh cache file of maxSize bytes.
func openMapkvCache(maxSize int64, bytesMode bool) (*mapkvCache, error) {
	dir, err := os.MkdirTemp(shmDir(), "mapkv-hitratio-")
	if err != nil {
		return nil, err
	}
	db, err := kv.Open(filepath.Join(dir, "cache.mapkv"), &kv.Options{MaxSize: maxSize, Evict: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &mapkvCache{db: db, dir: dir, bytesMode: bytesMode, pool: valuePool(), buf: make([]byte, 0, 1<<15), maxSize: maxSize}, nil
}

// valuePool is the bytes values are cut from: random, so that nothing
// compresses or dedups.
func valuePool() []byte {
	vs := newValues(seedValues)
	p := make([]byte, 0, 1<<15)
	for len(p) < 1<<15 {
		p = append(p, vs.pool...)
	}
	return p[:1<<15]
}

func (c *mapkvCache) get(key uint64) (bool, error) {
	v, err := c.db.AppendGet(c.buf[:0], keyFor(c.kb[:], key))
	if errors.Is(err, kv.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.buf = v[:0]
	return true, nil
}

func (c *mapkvCache) put(key uint64, _, payload int) error {
	vlen := payload - keySize
	off := int(mix(key) % uint64(len(c.pool)-vlen+1))
	return c.db.Put(keyFor(c.kb[:], key), c.pool[off:off+vlen])
}

// held counts the live entries; in bytes mode it sums their key and value
// bytes with ForEach (slow: the replay samples it rarely).
func (c *mapkvCache) held() (int, int64) {
	st := c.db.Stats()
	if !c.bytesMode {
		return int(st.Keys), st.Keys
	}
	var sum int64
	c.db.ForEach(func(k, v []byte) error {
		sum += int64(len(k) + len(v))
		return nil
	})
	return int(st.Keys), sum
}

func (c *mapkvCache) note() string {
	st := c.db.Stats()
	return fmt.Sprintf("MaxSize %d, %d evictions", c.maxSize, st.Evictions)
}

func (c *mapkvCache) close() error {
	err := c.db.Close()
	os.RemoveAll(c.dir)
	return err
}

// calibrateMapkv returns the MaxSize at which a cache file holds capacity
// (entries, or payload bytes in bytes mode) at steady state under a stream
// of distinct keys. It returns the last estimate and the error if a fill
// fails: the caller still runs the traces and reports their errors.
func calibrateMapkv(capacity int64, bytesMode bool, entries int) (int64, error) {
	perEntry := float64(keySize+fixedValue) + 40 // record rounding, slot, log share
	if bytesMode {
		perEntry = meanVaried(1<<16) * 1.3
	}
	x0 := int64(float64(entries)*perEntry) + 64<<10
	y0, err := mapkvFill(x0, bytesMode, entries)
	if err != nil {
		return x0, err
	}
	x1 := int64(float64(x0) * float64(capacity) / y0)
	for range 4 {
		y1, err := mapkvFill(x1, bytesMode, entries)
		if err != nil {
			return x1, err
		}
		fmt.Fprintf(os.Stderr, "hitratio: mapkv calibration: MaxSize %d holds %.0f (want %d)\n", x1, y1, capacity)
		if d := y1/float64(capacity) - 1; d < 0.005 && d > -0.005 || y1 == y0 {
			break
		}
		x2 := x1 + int64((float64(capacity)-y1)*float64(x1-x0)/(y1-y0))
		x0, y0, x1 = x1, y1, max(x2, kv.MinFileSize)
	}
	return (x1 + kv.PageSize - 1) / kv.PageSize * kv.PageSize, nil
}

// mapkvFill puts distinct keys into a fresh file of maxSize bytes until it
// has evicted, then as many again as it held then, and returns the mean of
// what it held over that second part.
func mapkvFill(maxSize int64, bytesMode bool, entries int) (float64, error) {
	c, err := openMapkvCache(maxSize, bytesMode)
	if err != nil {
		return 0, err
	}
	defer c.close()
	id := uint64(1 << 44)
	put := func() error {
		id++
		if err := c.put(id, 0, payload(id, bytesMode)); err != nil {
			return fmt.Errorf("calibration fill, Put #%d (MaxSize %d): %w", id-1<<44, maxSize, err)
		}
		return nil
	}
	for c.db.Stats().Evictions == 0 {
		if id-1<<44 > uint64(maxSize/16) {
			return 0, fmt.Errorf("calibration fill: no eviction after %d Puts (MaxSize %d)", id-1<<44, maxSize)
		}
		if err := put(); err != nil {
			// Full before it evicted: what it holds now is its most.
			_, w := c.held()
			fmt.Fprintf(os.Stderr, "hitratio: mapkv calibration: %v; taking the %d it held then\n", err, w)
			return float64(w), nil
		}
	}
	n := 2 * int(c.db.Stats().Keys)
	every := max(n/32, 1)
	var sum float64
	samples := 0
	for i := 0; i < n; i++ {
		if err := put(); err != nil {
			// Today's eviction fails at the bound (issue 11): calibrate on
			// what the file held up to the failure.
			_, w := c.held()
			if samples == 0 {
				sum, samples = float64(w), 1
			}
			fmt.Fprintf(os.Stderr, "hitratio: mapkv calibration: %v; taking the mean held until then\n", err)
			break
		}
		if i%every == every-1 {
			_, w := c.held()
			sum += float64(w)
			samples++
		}
	}
	return sum / float64(samples), nil
}
