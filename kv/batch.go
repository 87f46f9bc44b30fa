//go:build unix

package kv

import (
	"fmt"
	"runtime"
	"time"
)

// Group commit for durable writes (Options.Sync). A durable commit costs a
// flush of the file to the device, far more than the write itself, so
// goroutines of one handle that write at the same time share one: the first
// becomes the leader, takes the writes queued meanwhile, runs each as an
// operation of one transaction (each all-or-nothing, rolled back alone if it
// fails, as inside an Update), and commits them with one log and one flush.
// Every caller returns only after that flush, with its own operation's
// result. Writers in other processes cannot join: their writes are ordered by
// the lock and pay a flush each (docs/performance.md, "Durable writes").
// Update is never batched: its fn runs on its caller's goroutine.

// maxBatch bounds the operations of one group commit, so that its log stays
// within one log region (a larger one costs a second flush) and a leader does
// not hold the lock for long.
const maxBatch = 64

// batchReq is one queued write.
type batchReq struct {
	op   func(t *txn) error
	err  error
	done chan bool // false: done, see err; true: you lead the next batch
}

// txnOp is the body of one write operation: opFunc, or for the busiest
// single-key writes a small struct passed by value (putOp, deleteOp). A
// closure that captures its key and value escapes to the heap through the
// group-commit queue even when the write runs at once; a struct is copied to
// the heap only when it is queued.
type txnOp interface{ run(t *txn) error }

// opFunc is a write operation's body as a function.
type opFunc func(t *txn) error

func (f opFunc) run(t *txn) error { return f(t) }

// writeOne runs one write operation: batched with its handle's concurrent
// writes when the handle flushes every commit, on its own otherwise.
func writeOne[O txnOp](db *DB, what string, op O) error {
	if !db.syncWrites {
		return db.write(what, op.run)
	}
	queued := op
	return db.writeBatched(what, queued.run)
}

// writeBatched runs op as part of a group commit.
func (db *DB) writeBatched(what string, op func(t *txn) error) error {
	req := &batchReq{op: op, done: make(chan bool, 1)}
	db.batchMu.Lock()
	db.batchQ = append(db.batchQ, req)
	lead := !db.batchLeading
	db.batchLeading = true
	db.batchMu.Unlock()
	if !lead && !<-req.done {
		return req.err
	}
	// This goroutine leads: it runs batches until its own write is done,
	// then hands the lead to the next queued writer, if any.
	for {
		db.gatherBatch()
		db.batchMu.Lock()
		n := min(len(db.batchQ), maxBatch)
		reqs := append([]*batchReq(nil), db.batchQ[:n]...)
		db.batchQ = db.batchQ[n:]
		db.batchMu.Unlock()
		db.lastBatch.Store(int32(n))
		mine := db.runBatch(what, reqs, req)
		if db.passLead(mine) {
			return req.err
		}
	}
}

// gatherBatch gives the writers that the last batch released a moment to
// queue again before the next batch is taken: they return from their flush
// together and most write again at once, and a batch taken before they do
// holds one write where it could hold several. It waits while the queue is
// shorter than the last batch was, at most maxGather, yielding the processor.
func (db *DB) gatherBatch() {
	want := int(db.lastBatch.Load())
	if want <= 1 {
		return
	}
	deadline := time.Now().Add(maxGather)
	for {
		db.batchMu.Lock()
		n := len(db.batchQ)
		db.batchMu.Unlock()
		if n >= want || time.Now().After(deadline) {
			return
		}
		runtime.Gosched()
	}
}

// maxGather bounds how long a leader waits for writers to queue: a small
// part of what a flush costs (about 150 µs on the disks measured).
const maxGather = 30 * time.Microsecond

// passLead ends a leader's turn once its own write is done: the next queued
// writer leads, or nobody does. It reports whether the caller is done.
func (db *DB) passLead(mine bool) bool {
	db.batchMu.Lock()
	defer db.batchMu.Unlock()
	if len(db.batchQ) == 0 {
		db.batchLeading = false
		return true
	}
	if mine {
		db.batchQ[0].done <- true
		return true
	}
	return false
}

// runBatch commits reqs as one transaction, sets each one's err and releases
// every one but own. It reports whether own was among them.
func (db *DB) runBatch(what string, reqs []*batchReq, own *batchReq) (mine bool) {
	release := func() {
		for _, r := range reqs {
			if r == own {
				mine = true
			} else {
				r.done <- false
			}
		}
	}
	defer func() {
		if p := recover(); p != nil {
			// A bug, not a result: release every waiter, then fail loudly.
			for _, r := range reqs {
				r.err = fmt.Errorf("kv: %s on %s: a batched write panicked: %v", what, db.f.path, p)
			}
			release()
			db.passLead(true)
			panic(p)
		}
	}()
	err := db.write(what, func(t *txn) error {
		for _, r := range reqs {
			sp := t.savepoint()
			if r.err = r.op(t); r.err != nil {
				t.rollback(sp)
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range reqs {
			if r.err == nil {
				r.err = err
			}
		}
	}
	release()
	return mine
}
