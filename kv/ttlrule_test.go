//go:build unix

package kv

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// cacheWriter is what DB and Tx have in common: the cache operations run
// through either must follow the same TTL rule (cache.go).
type cacheWriter interface {
	Get(key []byte) ([]byte, error)
	TTL(key []byte) (time.Duration, error)
	PutTTL(key, value []byte, ttl time.Duration) error
	Add(key []byte, delta int64) (int64, error)
	AddTTL(key []byte, delta int64, ttl time.Duration) (int64, error)
	CompareAndSwap(key, old, new []byte, ttl time.Duration) (bool, error)
	PutIfAbsent(key, value []byte, ttl time.Duration) (bool, error)
	Replace(key, value []byte, ttl time.Duration) (bool, error)
	Expire(key []byte, ttl time.Duration) error
}

var (
	_ cacheWriter = (*DB)(nil)
	_ cacheWriter = (*Tx)(nil)
)

// What a key's TTL must be after an operation.
type ttlWant int

const (
	wantAbsent ttlWant = iota // the key is not there
	wantNone                  // present, never expires
	wantHour                  // present, the hour it had before
	wantTen                   // present, the ten minutes the call gave
)

func (w ttlWant) String() string {
	return [...]string{"absent", "no TTL", "its old hour", "the call's 10m"}[w]
}

// checkTTL reports how the key's TTL differs from w, or "".
func checkTTL(c cacheWriter, key []byte, w ttlWant) string {
	d, err := c.TTL(key)
	switch {
	case w == wantAbsent && errors.Is(err, ErrNotFound):
		return ""
	case err != nil:
		return fmt.Sprintf("TTL = %v, want %v", err, w)
	case w == wantNone && d == NoTTL,
		w == wantHour && d > 59*time.Minute && d <= time.Hour,
		w == wantTen && d > 9*time.Minute && d <= 10*time.Minute:
		return ""
	}
	return fmt.Sprintf("TTL = %v, want %v", d, w)
}

// counter is the value every case starts a present key with: an 8-byte
// counter, so that Add works on it too.
var counter = le.AppendUint64(nil, 7)

// The TTL rule, case by case, through DB and through Tx alike: a write that
// stores the caller's value gives the key the call's TTL (KeepTTL: the one
// it had); Add keeps an existing key's TTL and gives AddTTL's to a key it
// creates; Expire changes the TTL alone.
func TestTTLRule(t *testing.T) {
	const ten = 10 * time.Minute
	cases := []struct {
		name  string
		start ttlWant // wantAbsent, wantNone or wantHour
		op    func(c cacheWriter, k []byte) (bool, error)
		did   bool // the operation reports that it wrote
		want  ttlWant
	}{
		{"PutTTL(10m) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return true, c.PutTTL(k, counter, ten) }, true, wantTen},
		{"PutTTL(0) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return true, c.PutTTL(k, counter, 0) }, true, wantNone},
		{"PutTTL(-5s) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return true, c.PutTTL(k, counter, -5*time.Second) }, true, wantNone},
		{"PutTTL(KeepTTL) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return true, c.PutTTL(k, counter, KeepTTL) }, true, wantHour},
		{"PutTTL(KeepTTL) over none", wantNone, func(c cacheWriter, k []byte) (bool, error) { return true, c.PutTTL(k, counter, KeepTTL) }, true, wantNone},
		{"PutTTL(KeepTTL) creating", wantAbsent, func(c cacheWriter, k []byte) (bool, error) { return true, c.PutTTL(k, counter, KeepTTL) }, true, wantNone},

		{"PutIfAbsent(10m) creating", wantAbsent, func(c cacheWriter, k []byte) (bool, error) { return c.PutIfAbsent(k, counter, ten) }, true, wantTen},
		{"PutIfAbsent(10m) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return c.PutIfAbsent(k, counter, ten) }, false, wantHour},
		{"PutIfAbsent(KeepTTL) creating", wantAbsent, func(c cacheWriter, k []byte) (bool, error) { return c.PutIfAbsent(k, counter, KeepTTL) }, true, wantNone},

		{"Replace(10m) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return c.Replace(k, counter, ten) }, true, wantTen},
		{"Replace(0) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return c.Replace(k, counter, 0) }, true, wantNone},
		{"Replace(KeepTTL) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return c.Replace(k, counter, KeepTTL) }, true, wantHour},
		{"Replace(10m) of an absent key", wantAbsent, func(c cacheWriter, k []byte) (bool, error) { return c.Replace(k, counter, ten) }, false, wantAbsent},

		{"CompareAndSwap(10m) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return c.CompareAndSwap(k, counter, []byte("new"), ten) }, true, wantTen},
		{"CompareAndSwap(0) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return c.CompareAndSwap(k, counter, []byte("new"), 0) }, true, wantNone},
		{"CompareAndSwap(KeepTTL) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) {
			return c.CompareAndSwap(k, counter, []byte("new"), KeepTTL)
		}, true, wantHour},
		{"CompareAndSwap(nil, 10m) creating", wantAbsent, func(c cacheWriter, k []byte) (bool, error) { return c.CompareAndSwap(k, nil, []byte("new"), ten) }, true, wantTen},
		{"CompareAndSwap(nil, KeepTTL) creating", wantAbsent, func(c cacheWriter, k []byte) (bool, error) { return c.CompareAndSwap(k, nil, []byte("new"), KeepTTL) }, true, wantNone},
		{"CompareAndSwap(wrong old, 10m)", wantHour, func(c cacheWriter, k []byte) (bool, error) {
			return c.CompareAndSwap(k, []byte("wrong"), []byte("new"), ten)
		}, false, wantHour},

		{"Add over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { _, err := c.Add(k, 1); return true, err }, true, wantHour},
		{"Add creating", wantAbsent, func(c cacheWriter, k []byte) (bool, error) { _, err := c.Add(k, 1); return true, err }, true, wantNone},
		{"AddTTL(10m) over an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { _, err := c.AddTTL(k, 1, ten); return true, err }, true, wantHour},
		{"AddTTL(10m) over none", wantNone, func(c cacheWriter, k []byte) (bool, error) { _, err := c.AddTTL(k, 1, ten); return true, err }, true, wantNone},
		{"AddTTL(10m) creating", wantAbsent, func(c cacheWriter, k []byte) (bool, error) { _, err := c.AddTTL(k, 1, ten); return true, err }, true, wantTen},

		{"Expire(10m) of an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return true, c.Expire(k, ten) }, true, wantTen},
		{"Expire(0) of an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return true, c.Expire(k, 0) }, true, wantNone},
		{"Expire(KeepTTL) of an hour", wantHour, func(c cacheWriter, k []byte) (bool, error) { return true, c.Expire(k, KeepTTL) }, true, wantHour},
	}
	db, _ := openTemp(t, nil)
	for i, c := range cases {
		for _, via := range []string{"DB", "Tx"} {
			key := []byte(fmt.Sprint("case", i, via))
			switch c.start {
			case wantNone:
				db.PutTTL(key, counter, 0)
			case wantHour:
				db.PutTTL(key, counter, time.Hour)
			}
			var did bool
			var err error
			if via == "DB" {
				did, err = c.op(db, key)
			} else {
				err = db.Update(func(tx *Tx) error {
					did, err = c.op(tx, key)
					if err != nil {
						return err
					}
					if bad := checkTTL(tx, key, c.want); bad != "" {
						t.Errorf("%s via Tx, inside the Update: %s", c.name, bad)
					}
					return nil
				})
			}
			if err != nil || did != c.did {
				t.Errorf("%s via %s: wrote %v, %v; want %v, nil", c.name, via, did, err, c.did)
				continue
			}
			if bad := checkTTL(db, key, c.want); bad != "" {
				t.Errorf("%s via %s: %s", c.name, via, bad)
			}
		}
	}
	// Expire of an absent key is ErrNotFound through either.
	if err := db.Expire([]byte("absent"), time.Minute); !errors.Is(err, ErrNotFound) {
		t.Errorf("DB.Expire(absent) = %v", err)
	}
	db.Update(func(tx *Tx) error {
		if err := tx.Expire([]byte("absent"), time.Minute); !errors.Is(err, ErrNotFound) {
			t.Errorf("Tx.Expire(absent) = %v", err)
		}
		return nil
	})
	// A TTL read back is a TTL that can be written again: NoTTL means never.
	db.PutTTL([]byte("copy"), []byte("v"), NoTTL)
	if d, _ := db.TTL([]byte("copy")); d != NoTTL {
		t.Errorf("PutTTL(NoTTL) gave TTL %v, want NoTTL", d)
	}
}
