//go:build unix

package kv

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// maxPoll is the longest pause between two polls of a handle that cannot sleep
// on the futex.
const maxPoll = 50 * time.Millisecond

// watchHub fans one handle's waiter out to the goroutines in Watch. A
// goroutine registers (and gets the current wake channel), reads its key, and
// waits on the channel; the waiter closes the channel, and starts a new one,
// whenever the futex word moves on from the value it had when the channel was
// handed out, when its announcement may have lapsed, or, when polling, at
// every poll. The waiter runs only while a goroutine is registered: the first
// registration starts it, and it stops at its next wake-up after the last one
// left. The zero value is ready; Close stops it with shutdown.
//
// Registering and leaving take mu shared (thousands of goroutines do so at
// each wake-up); the waiter takes it exclusively to hand out a new channel or
// to stop, so a registration either sees the waiter running and is counted
// before it decides to stop, or starts a new one.
type watchHub struct {
	mu      sync.RWMutex
	n       atomic.Int64  // registered goroutines
	wake    chan struct{} // closed at the next change; nil until first needed
	seq     uint32        // the futex word's value when wake was handed out
	running bool          // a waiter goroutine is running
	closed  bool          // shutdown has run: no more registrations
	stop    chan struct{} // closed by shutdown: a polling waiter stops
	kick    chan struct{} // a goroutine saw a change: a polling waiter polls fast again
	word    *uint32       // the futex word of the running futex waiter, else nil
	done    sync.WaitGroup
}

// register adds a watching goroutine and returns the channel that is closed at
// the next change, or ErrClosed once the hub is shut down, or ErrCorrupt when
// the watch words are gone from the file (truncated under us). Each
// successful register is paired with one leave. A registration that starts
// the waiter announces the watch in the file before it returns; later ones
// rely on the waiter's announcements (docs/concurrency.md, "Watch").
func (h *watchHub) register(db *DB) (<-chan struct{}, error) {
	h.mu.RLock()
	if h.running && !h.closed {
		h.n.Add(1)
		c := h.wake
		h.mu.RUnlock()
		return c, nil
	}
	h.mu.RUnlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if h.wake == nil {
		h.wake = make(chan struct{})
		h.stop = make(chan struct{})
		h.kick = make(chan struct{}, 1)
	}
	if !h.running {
		if err := h.start(db); err != nil {
			return nil, err
		}
	}
	h.n.Add(1)
	return h.wake, nil
}

// leave removes a goroutine that register added; changed says it returned
// because its key changed after a wake-up, so that a polling waiter polls
// fast again, as a new Watch would.
func (h *watchHub) leave(changed bool) {
	h.n.Add(-1)
	if changed {
		select {
		case h.kick <- struct{}{}:
		default:
		}
	}
}

// start runs a waiter; h.mu is held. The futex waiter's first value of the
// word is loaded, and the watch announced, here, before the registration that
// started it reads its key.
func (h *watchHub) start(db *DB) error {
	if db.readOnly || !futexSupported {
		h.word = nil
		h.running = true
		h.done.Add(1)
		go h.poll()
		return nil
	}
	m := db.f.m.Load() // any mapping will do: old ones stay mapped until Close
	word := seqWord(m)
	until := nowMillis() + announceFor.Milliseconds()
	err := catchHeaderFault(db.f.path, func() {
		h.seq = atomic.LoadUint32(word)
		announceUntil(m, until)
	})
	if err != nil {
		return err
	}
	h.word = word
	h.running = true
	h.done.Add(1)
	go h.sleep(m, word, h.seq, until)
	return nil
}

// catchHeaderFault runs fn, which touches the watch words in the header page,
// and turns a memory fault there (the file was truncated to nothing under us)
// into an ErrCorrupt error.
func catchHeaderFault(path string, fn func()) (err error) {
	defer func(was bool) {
		debug.SetPanicOnFault(was)
		if r := recover(); r != nil {
			e, ok := r.(runtime.Error)
			if !ok || !isMemoryFault(e) {
				panic(r)
			}
			err = fmt.Errorf("kv: %s: memory fault on the watch words (was the file truncated?): %v: %w", path, e, ErrCorrupt)
		}
	}(debug.SetPanicOnFault(true))
	fn()
	return nil
}

// broadcast wakes every registered goroutine and notes the word's value for
// the next channel; h.mu is held exclusively.
func (h *watchHub) broadcast(seq uint32) {
	h.seq = seq
	if h.n.Load() > 0 {
		close(h.wake)
		h.wake = make(chan struct{})
	}
}

// quit reports whether the waiter should stop, and if so marks it stopped;
// h.mu is held exclusively.
func (h *watchHub) quit() bool {
	if h.closed || h.n.Load() == 0 {
		h.running = false
		return true
	}
	return false
}

// sleep is the futex waiter: it sleeps on word while it holds the value the
// current channel belongs to, for at most a slice, and renews the
// announcement each time round. until is when the previous announcement ends.
// A renewal that finds it over by a clock read after the renewal (the waiter
// was descheduled that long) may follow a writer that saw no announcement and
// skipped its wake-up, so every goroutine is woken to re-read. A memory fault
// on the word (the file truncated to nothing) stops the waiter and wakes
// everyone: their reads then report the damage.
func (h *watchHub) sleep(m *mapping, word *uint32, q uint32, until int64) {
	defer h.done.Done()
	if err := catchHeaderFault("", func() { h.sleepLoop(m, word, q, until) }); err != nil {
		h.mu.Lock()
		h.running = false
		if !h.closed {
			h.broadcast(h.seq + 1)
		}
		h.mu.Unlock()
	}
}

func (h *watchHub) sleepLoop(m *mapping, word *uint32, q uint32, until int64) {
	for {
		next := nowMillis() + announceFor.Milliseconds()
		announceUntil(m, next)
		lapsed := nowMillis() > until
		until = next
		h.mu.Lock()
		if h.quit() {
			h.mu.Unlock()
			return
		}
		woke := q != h.seq || lapsed
		if woke {
			h.broadcast(q)
		}
		h.mu.Unlock()
		if woke {
			// Let the woken goroutines run here first: going straight back
			// to sleep would leave them to another thread, woken for them.
			runtime.Gosched()
		}
		futexWait(word, q, watchSlice)
		q = atomic.LoadUint32(word)
	}
}

// poll is the waiter of a handle that cannot sleep on the futex: it wakes
// every goroutine to re-read at pauses that double from 1 ms up to maxPoll,
// back to 1 ms when one of them saw a change.
func (h *watchHub) poll() {
	defer h.done.Done()
	pause := time.Millisecond
	t := time.NewTimer(pause)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
		case <-h.kick:
			pause = time.Millisecond
			t.Reset(pause)
			continue
		case <-t.C:
		}
		h.mu.Lock()
		if h.quit() {
			h.mu.Unlock()
			return
		}
		h.broadcast(0)
		h.mu.Unlock()
		pause = min(2*pause, maxPoll)
		t.Reset(pause)
	}
}

// shutdown wakes every watching goroutine (they then find the hub closed and
// return ErrClosed), stops the waiter and waits for it. Close calls it before
// it unmaps the file, which the futex waiter uses without closeMu.
func (h *watchHub) shutdown() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	var word *uint32
	if h.running {
		word = h.word
	}
	if h.wake != nil {
		close(h.wake)
		close(h.stop)
	}
	h.mu.Unlock()
	// The futex waiter loaded its value before it last saw h.closed false, so
	// this bump comes after that load: its futexWait returns at once or is
	// woken. Watchers in other processes wake too and re-read once.
	if word != nil {
		bumpAndWake(word)
	}
	h.done.Wait()
}
