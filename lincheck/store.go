//go:build unix

package lincheck

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/mapkv/mapkv/kv"
)

// store is the part of kv's API the clients call. kvStore is the real store;
// the broken stores wrap it to be deliberately non-linearizable, so that the
// harness proves it can fail (TestHarnessFindsViolations).
type store interface {
	Get(key []byte) ([]byte, error)
	Put(key, value []byte) error
	Delete(key []byte) error
	Update(fn func(tx txn) error) error
	CompareAndSwap(key, old, new []byte, ttl time.Duration) (bool, error)
	Add(key []byte, delta int64) (int64, error)
	View(fn func(tx reader) error) error
	Close() error
}

// reader is what a View's fn uses: *kv.ReadTx.
type reader interface {
	Get(key []byte) ([]byte, error)
}

// txn is what an Update's fn uses: *kv.Tx.
type txn interface {
	Get(key []byte) ([]byte, error)
	Put(key, value []byte) error
	Delete(key []byte) error
}

// errFail is what a failing Update's fn returns after its writes.
var errFail = errors.New("lincheck: this Update fails on purpose")

// Store names, passed to the child processes.
const (
	storeKV          = "kv"
	storeSplitUpdate = "split-update" // broken: an Update's writes are separate Puts
	storeLeakyUpdate = "leaky-update" // broken: a failing Update's writes stay
	storeStaleRead   = "stale-read"   // broken: some Gets answer from an old local copy
)

func openStore(name, path string) (store, error) {
	db, err := kv.Open(path, nil)
	if err != nil {
		return nil, err
	}
	base := kvStore{db}
	switch name {
	case storeKV:
		return base, nil
	case storeSplitUpdate:
		return splitUpdate{base}, nil
	case storeLeakyUpdate:
		return leakyUpdate{base}, nil
	case storeStaleRead:
		return &staleRead{kvStore: base, cache: map[string]staleEntry{}}, nil
	}
	db.Close()
	return nil, fmt.Errorf("unknown store %q", name)
}

type kvStore struct{ *kv.DB }

func (s kvStore) Update(fn func(tx txn) error) error {
	return s.DB.Update(func(tx *kv.Tx) error { return fn(tx) })
}

func (s kvStore) View(fn func(tx reader) error) error {
	return s.DB.View(func(tx *kv.ReadTx) error { return fn(tx) })
}

// splitUpdate runs an Update's fn on a buffer and, if fn succeeds, applies
// its writes as separate Puts and Deletes with a pause after each, so that
// readers see the halves: each key changes atomically, the Update does not.
type splitUpdate struct{ kvStore }

func (s splitUpdate) Update(fn func(tx txn) error) error {
	var b bufferTx
	b.db = s.DB
	if err := fn(&b); err != nil {
		return err
	}
	for _, w := range b.writes {
		var err error
		if w.del {
			err = s.DB.Delete(w.key)
		} else {
			err = s.DB.Put(w.key, w.value)
		}
		if err != nil {
			return err
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}

// bufferTx collects an Update's writes; its Get sees them.
type bufferTx struct {
	db     *kv.DB
	writes []bufferedWrite
}

type bufferedWrite struct {
	key, value []byte
	del        bool
}

func (b *bufferTx) Get(key []byte) ([]byte, error) {
	for i := len(b.writes) - 1; i >= 0; i-- {
		if w := b.writes[i]; string(w.key) == string(key) {
			if w.del {
				return nil, kv.ErrNotFound
			}
			return w.value, nil
		}
	}
	return b.db.Get(key)
}

func (b *bufferTx) Put(key, value []byte) error {
	b.writes = append(b.writes, bufferedWrite{key: key, value: value})
	return nil
}

func (b *bufferTx) Delete(key []byte) error {
	b.writes = append(b.writes, bufferedWrite{key: key, del: true})
	return nil
}

// leakyUpdate applies each write of an Update's fn at once as its own Put or
// Delete, so the writes of a fn that then fails stay applied.
type leakyUpdate struct{ kvStore }

func (s leakyUpdate) Update(fn func(tx txn) error) error { return fn(leakyTx(s)) }

type leakyTx leakyUpdate

func (s leakyTx) Get(key []byte) ([]byte, error) { return s.DB.Get(key) }
func (s leakyTx) Put(key, value []byte) error    { return s.DB.Put(key, value) }
func (s leakyTx) Delete(key []byte) error        { return s.DB.Delete(key) }

// staleRead keeps a copy of each key it read, refreshed at most every 5 ms,
// and answers one Get in eight from it.
type staleRead struct {
	kvStore
	mu    sync.Mutex // a writer process runs several clients on one store
	cache map[string]staleEntry
}

type staleEntry struct {
	v   []byte
	err error
	at  time.Time
}

func (s *staleRead) Get(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[string(key)]
	if ok && rand.IntN(8) == 0 {
		return e.v, e.err
	}
	v, err := s.DB.Get(key)
	if !ok || time.Since(e.at) > 5*time.Millisecond {
		s.cache[string(key)] = staleEntry{v, err, time.Now()}
	}
	return v, err
}
