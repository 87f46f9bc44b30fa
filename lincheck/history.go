//go:build unix

package lincheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"

	"github.com/anishathalye/porcupine"
	"golang.org/x/sys/unix"
)

// now reads CLOCK_MONOTONIC, in nanoseconds. It is one clock for every
// process of the host, so invoke and return times of different processes
// compare directly. (Go's time.Now keeps a monotonic reading too, but only
// relative to its own process's start.)
func now() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic("lincheck: clock_gettime(CLOCK_MONOTONIC): " + err.Error())
	}
	return ts.Nano()
}

// A record is one line of a client's history file: a call (In set) or the
// return of the call with the same ID (Out set).
type record struct {
	ID  int     `json:"id"`
	T   int64   `json:"t"`
	In  *input  `json:"in,omitempty"`
	Out *output `json:"out,omitempty"`
}

// A recorder appends one client's records to its history file. A durable
// recorder (writers, which get killed) hands each call record to the kernel
// with write(2) before the call is made, together with the previous return:
// what a SIGKILLed process wrote is in the page cache, so its last invoke is
// never lost. Readers are not killed and flush only when the buffer fills.
type recorder struct {
	f       *os.File
	buf     []byte
	durable bool
}

func newRecorder(path string, durable bool) (*recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return &recorder{f: f, buf: make([]byte, 0, 64<<10), durable: durable}, nil
}

func (r *recorder) add(rec record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	r.buf = append(append(r.buf, b...), '\n')
	return nil
}

func (r *recorder) call(id int, t int64, in input) error {
	if err := r.add(record{ID: id, T: t, In: &in}); err != nil {
		return err
	}
	if r.durable || len(r.buf) > cap(r.buf)/2 {
		return r.flush()
	}
	return nil
}

func (r *recorder) ret(id int, t int64, out output) error {
	return r.add(record{ID: id, T: t, Out: &out})
}

func (r *recorder) flush() error {
	if len(r.buf) == 0 {
		return nil
	}
	_, err := r.f.Write(r.buf)
	r.buf = r.buf[:0]
	if err != nil {
		return fmt.Errorf("history %s: %w", r.f.Name(), err)
	}
	return nil
}

func (r *recorder) close() error {
	err := r.flush()
	if cerr := r.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("history: %w", cerr)
	}
	return err
}

// A clientLog is one client's history file, and whether its process was
// killed (then its last call may have no return, and its last line may be
// cut short: write(2) of a record that spans a page boundary can be
// interrupted by SIGKILL between the pages).
type clientLog struct {
	path     string
	reader   bool
	killed   bool
	killedAt int64 // CLOCK_MONOTONIC once the killed process was reaped
}

// historyStats counts what a round's history holds.
type historyStats struct {
	ops, readerOps, pending int
}

// loadHistory merges the clients' files into porcupine operations, client i
// of logs being ClientId i. A call whose process was killed before it
// returned becomes an operation of unknown outcome (output{Unknown: true}):
// it may or may not have taken effect, and whichever it did, it did so by the
// time the first write invoked after the kill returned, since kv's next
// writer, in any process, finishes a dead writer's committed log before its
// own write (docs/concurrency.md, "Process death"). That return, or settled
// (the parent's write after every client stopped) if there is none, is the
// operation's return. (Returning at the end of the history instead is also
// sound, but the checker then tries every position for it and a round with a
// few kills takes minutes.)
func loadHistory(logs []clientLog, settled int64) ([]porcupine.Operation, historyStats, error) {
	var ops []porcupine.Operation
	var st historyStats
	for client, l := range logs {
		data, err := os.ReadFile(l.path)
		if errors.Is(err, fs.ErrNotExist) && l.killed {
			continue // killed before it could open its history: it did nothing
		}
		if err != nil {
			return nil, st, fmt.Errorf("history: %w", err)
		}
		calls := map[int]record{}
		var order []int
		lines := bytes.Split(data, []byte("\n"))
		for i, line := range lines {
			if len(line) == 0 {
				continue
			}
			var rec record
			if err := json.Unmarshal(line, &rec); err != nil {
				if l.killed && i == len(lines)-1 {
					break // the write the kill cut short: its call had not started
				}
				return nil, st, fmt.Errorf("history %s line %d: %w", l.path, i+1, err)
			}
			switch {
			case rec.In != nil:
				if _, dup := calls[rec.ID]; dup {
					return nil, st, fmt.Errorf("history %s line %d: call %d twice", l.path, i+1, rec.ID)
				}
				calls[rec.ID] = rec
				order = append(order, rec.ID)
			case rec.Out != nil:
				c, ok := calls[rec.ID]
				if !ok || c.Out != nil {
					return nil, st, fmt.Errorf("history %s line %d: return %d without its call", l.path, i+1, rec.ID)
				}
				c.Out = rec.Out
				calls[rec.ID] = c
				ops = append(ops, porcupine.Operation{ClientId: client, Input: *c.In, Call: c.T, Output: *rec.Out, Return: rec.T})
				if l.reader {
					st.readerOps++
				}
			default:
				return nil, st, fmt.Errorf("history %s line %d: neither call nor return", l.path, i+1)
			}
		}
		for _, id := range order {
			c := calls[id]
			if c.Out != nil {
				continue
			}
			if !l.killed {
				return nil, st, fmt.Errorf("history %s: call %d never returned, and its process was not killed", l.path, id)
			}
			st.pending++
			ops = append(ops, porcupine.Operation{ClientId: client, Input: *c.In, Call: c.T, Output: output{Unknown: true}, Return: math.MaxInt64})
		}
	}
	for i, op := range ops {
		if !op.Output.(output).Unknown {
			continue
		}
		ops[i].Return = settled
		after := max(logs[op.ClientId].killedAt, op.Call)
		for _, w := range ops {
			if w.Call > after && w.Return < ops[i].Return && !logs[w.ClientId].reader &&
				w.Input.(input).Kind != opGet && !w.Output.(output).Unknown {
				ops[i].Return = w.Return
			}
		}
	}
	st.ops = len(ops)
	return ops, st, nil
}

// splitUpdates rewrites each two-key Update as two Puts over the same
// interval: the per-key contract kv documents today (docs/concurrency.md, "A
// write": a reader can see one key of an Update new and the other old while
// its log is applied), where each key changes atomically at some point inside
// the call but the pair need not. A failing Update stays as it is: none of
// its writes may be seen in either contract.
func splitUpdates(ops []porcupine.Operation) []porcupine.Operation {
	res := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		in := op.Input.(input)
		if in.Kind != opUpdate {
			res = append(res, op)
			continue
		}
		for i := range 2 {
			half := op
			half.Input = input{Kind: opPut, Keys: [2]uint8{in.Keys[i]}, Vals: [2]val{in.Vals[i]}}
			res = append(res, half)
		}
	}
	return res
}

// savedOp is an operation as saveHistory writes it.
type savedOp struct {
	Client int    `json:"client"`
	Call   int64  `json:"call"`
	Return int64  `json:"return"`
	In     input  `json:"in"`
	Out    output `json:"out"`
}

// saveHistory writes ops, one JSON object a line, to a new file in dir, so
// that a round porcupine rejected or gave up on can be checked again
// (TestRecheck) or inspected.
func saveHistory(ops []porcupine.Operation, dir string) (string, error) {
	f, err := os.CreateTemp(dir, "mapkv-lincheck-*.history")
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, op := range ops {
		if err := enc.Encode(savedOp{op.ClientId, op.Call, op.Return, op.Input.(input), op.Output.(output)}); err != nil {
			f.Close()
			return "", err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

// readSavedHistory reads a file saveHistory wrote.
func readSavedHistory(path string) ([]porcupine.Operation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ops []porcupine.Operation
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var s savedOp
		if err := json.Unmarshal(line, &s); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		ops = append(ops, porcupine.Operation{ClientId: s.Client, Call: s.Call, Return: s.Return, Input: s.In, Output: s.Out})
	}
	return ops, nil
}
