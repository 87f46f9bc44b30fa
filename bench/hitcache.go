package main

import (
	"fmt"
	"runtime"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/maypok86/otter/v2"
)

// hitCache is what the hit-ratio replay needs from a cache: the caches of
// the comparison (an exact LRU, otter, ristretto, mapkv and the simulated
// policies) behind one interface. Weights are in the capacity's unit: 1 per
// entry in entries mode, payload bytes (key and value) in bytes mode.
type hitCache interface {
	// get reports whether key is cached; a hit counts as a use.
	get(key uint64) (bool, error)
	// put stores key after a miss; weight is its charge, payload its
	// key-plus-value bytes (what mapkv stores).
	put(key uint64, weight, payload int) error
	// held returns what the cache holds now: entries, and weight in the
	// capacity's unit.
	held() (entries int, weight int64)
	close() error
}

// notes is implemented by caches with something to say under the table
// (dropped events, the capacity they were given).
type notes interface{ note() string }

// hitPeer is one column of the comparison: open returns a cache of the given
// capacity (entries or payload bytes).
type hitPeer struct {
	name string
	desc string
	open func(capacity int64, bytesMode bool) (hitCache, error)
}

// lruPeer is the exact LRU.
var lruPeer = hitPeer{name: "lru", desc: "exact LRU (bench/lru.go)", open: func(c int64, _ bool) (hitCache, error) {
	return lruCache{newLRU(c)}, nil
}}

type lruCache struct{ *lru }

func (c lruCache) put(key uint64, weight, _ int) error { return c.lru.put(key, weight) }

// otter: W-TinyLFU with its adaptive window. Maintenance runs on the calling
// goroutine (a synchronous Executor), so that eviction is never late: with
// the default executor it runs on another goroutine and the cache can sit
// over its bound while the replay races ahead.
var otterPeer = hitPeer{name: "otter", desc: "github.com/maypok86/otter/v2 v2.4.0 (W-TinyLFU), synchronous maintenance", open: openOtter}

type otterCache struct{ c *otter.Cache[uint64, int32] }

func openOtter(capacity int64, bytesMode bool) (hitCache, error) {
	o := &otter.Options[uint64, int32]{Executor: func(fn func()) { fn() }}
	if bytesMode {
		o.MaximumWeight = uint64(capacity)
		o.Weigher = func(_ uint64, w int32) uint32 { return uint32(w) }
	} else {
		o.MaximumSize = int(capacity)
	}
	c, err := otter.New(o)
	if err != nil {
		return nil, fmt.Errorf("otter: %w", err)
	}
	return otterCache{c}, nil
}

func (c otterCache) get(key uint64) (bool, error) {
	_, ok := c.c.GetIfPresent(key)
	return ok, nil
}

func (c otterCache) put(key uint64, weight, _ int) error {
	c.c.Set(key, int32(weight))
	return nil
}

func (c otterCache) held() (int, int64) {
	c.c.CleanUp()
	if c.c.IsWeighted() {
		return c.c.EstimatedSize(), int64(c.c.WeightedSize())
	}
	n := c.c.EstimatedSize()
	return n, int64(n)
}

func (c otterCache) close() error { c.c.StopAllGoroutines(); return nil }

// ristretto: TinyLFU admission with sampled LFU eviction. Set up as its
// documentation asks: NumCounters 10x the entries the cache holds, cost 1 per
// entry or the payload's bytes, IgnoreInternalCost so that the cost is only
// that. Sets are applied by a goroutine of its own: Wait after every Set makes
// a Set visible to the next Get, so no request misses because its key is
// still queued. Gets feed the policy through lossy buffers: the replay
// yields once per buffer's worth so that its goroutine keeps up, and the
// number it dropped all the same is reported (Metrics).
var ristrettoPeer = hitPeer{name: "ristretto", desc: "github.com/dgraph-io/ristretto/v2 v2.4.2 (TinyLFU), NumCounters 10x entries, Wait after each Set", open: openRistretto}

type ristrettoCache struct {
	c       *ristretto.Cache[uint64, int32]
	dropped uint64 // Sets the cache refused outright (its buffer full)
	gets    uint64
}

func openRistretto(capacity int64, bytesMode bool) (hitCache, error) {
	entries := capacity
	if bytesMode {
		entries = max(capacity/int64(meanVaried(1<<16)), 1)
	}
	c, err := ristretto.NewCache(&ristretto.Config[uint64, int32]{
		NumCounters:        10 * entries,
		MaxCost:            capacity,
		BufferItems:        64,
		Metrics:            true,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("ristretto: %w", err)
	}
	return &ristrettoCache{c: c}, nil
}

func (c *ristrettoCache) get(key uint64) (bool, error) {
	_, ok := c.c.Get(key)
	// A Get reaches the policy through a lossy buffer that its goroutine
	// drains in batches of BufferItems; a replay that never yields outruns
	// it and most Gets are dropped (60% here). Yielding once per batch lets
	// it keep up; the drops that remain are reported.
	if c.gets++; c.gets%64 == 0 {
		runtime.Gosched()
	}
	return ok, nil
}

func (c *ristrettoCache) put(key uint64, weight, _ int) error {
	if !c.c.Set(key, int32(weight), int64(weight)) {
		c.dropped++
	}
	c.c.Wait()
	return nil
}

func (c *ristrettoCache) held() (int, int64) {
	m := c.c.Metrics
	return int(m.KeysAdded() - m.KeysEvicted()), int64(m.CostAdded() - m.CostEvicted())
}

func (c *ristrettoCache) note() string {
	m := c.c.Metrics
	return fmt.Sprintf("gets kept %d, dropped %d; sets dropped %d, rejected by admission %d",
		m.GetsKept(), m.GetsDropped(), m.SetsDropped()+c.dropped, m.SetsRejected())
}

func (c *ristrettoCache) close() error { c.c.Close(); return nil }
