//go:build unix

package kv

import (
	"bytes"
	"iter"
)

// Iteration for range loops. All and Prefix return the iteration as an
// iter.Seq2 together with a function that reports the error that ended it,
// rather than a value with an Err method (bufio.Scanner, sql.Rows): a
// forgotten Err call is the classic bug of that pattern, and here the
// compiler refuses an unused error function, so ignoring the error takes
// an explicit _.

// All returns an iteration over every live key and its value, for a range
// loop, and a function that returns the error that ended the last range over
// it: nil when the loop ran to its end or stopped it (break, return), else
// ErrClosed, ErrBusy or ErrCorrupt, as for ForEach, which All matches in
// every other way: a live view without a lock, each key present and
// unchanged throughout visited exactly once, in no particular order.
//
//	pairs, errf := db.All()
//	for k, v := range pairs {
//		...
//	}
//	if err := errf(); err != nil {
//		...
//	}
//
// The key and value slices are valid only until the loop body returns or
// continues: the next step reuses them; copy what you keep (bytes.Clone).
// The loop body may read and write the DB. Each range over pairs is a new
// pass; pairs and errf are for one goroutine at a time.
func (db *DB) All() (pairs iter.Seq2[[]byte, []byte], errf func() error) {
	return db.pairs(nil, nil)
}

// Prefix is All for the keys that start with prefix. The store is a hash
// table, not a sorted tree: Prefix reads every record, as All does, and
// yields the keys that match, in no particular order. An empty prefix
// matches every key.
func (db *DB) Prefix(prefix []byte) (pairs iter.Seq2[[]byte, []byte], errf func() error) {
	return db.pairs(bytes.Clone(prefix), nil)
}

// pairs is All and Prefix; check, if set, may refuse each range at its start.
func (db *DB) pairs(prefix []byte, check func() error) (iter.Seq2[[]byte, []byte], func() error) {
	var err error
	seq := func(yield func(key, value []byte) bool) {
		if check != nil {
			if err = check(); err != nil {
				return
			}
		}
		_, err = db.walk(prefix, false, func(key, value []byte, _ int64) bool { return yield(key, value) })
	}
	return seq, func() error { return err }
}

// Salvage calls fn for every live key and value that can be read, like
// ForEach, but skips damaged records (a bad header or checksum, a slot that
// points outside the file, a broken chain of pages) instead of stopping at
// the first one, and returns how many it skipped: a way to copy out what a
// damaged file still holds (kvtool dump --salvage). Check says what is
// damaged and where.
//
// It returns fn's error, ErrClosed on a closed DB, ErrBusy when writers kept
// moving the slot table under it, and ErrCorrupt only for damage it cannot
// walk past: a slot table outside the file, or a log of slot moves that does
// not check out. With an error, skipped counts the records skipped until then.
func (db *DB) Salvage(fn func(key, value []byte) error) (skipped int, err error) {
	var ferr error
	skipped, err = db.walk(nil, true, func(key, value []byte, _ int64) bool {
		ferr = fn(key, value)
		return ferr == nil
	})
	if ferr != nil {
		return skipped, ferr
	}
	return skipped, err
}
