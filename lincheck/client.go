//go:build unix

package lincheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/mapkv/mapkv/kv"
)

// A mix is the share of each kind among a client's operations.
type mix []struct {
	k kind
	w int
}

var (
	writerMix = mix{
		{opPut, 18}, {opDelete, 8}, {opUpdate, 14}, {opFailUpdate, 8},
		{opCAS, 16}, {opAdd, 16}, {opRead2, 6}, {opGet, 14},
	}
	readerMix = mix{{opGet, 3}, {opView, 1}}
)

func (m mix) pick(r *rand.Rand) kind {
	total := 0
	for _, e := range m {
		total += e.w
	}
	n := r.IntN(total)
	for _, e := range m {
		if n < e.w {
			return e.k
		}
		n -= e.w
	}
	panic("unreachable")
}

// Filler keys are keys outside the model that writers insert and delete in
// batches (one Update each), unrecorded: they grow the table (rehashes) and
// make multi-deletion logs whose slot moves shift the hot keys' entries, the
// situations issue 10 lists. They are never read, so the model ignores them.
const (
	fillEvery   = 25 // one writer step in fillEvery is a filler batch
	fillBatch   = 48
	maxFillers  = 3000 // per client: beyond it, batches only delete
	dropInHotOp = 4    // an Update of hot keys deletes up to this many fillers too
)

// A client is one stream of operations with its own history file: a goroutine
// of a writer or reader process.
type client struct {
	id      int
	st      store
	rec     *recorder
	rng     *rand.Rand
	m       mix
	writer  bool
	pause   time.Duration // mean pause after each operation
	seq     int
	known   [nKeys]known // what this client last saw of each key: CAS's old
	fillers [][]byte
	fillSeq int
}

// spin waits for d without sleeping: time.Sleep here wakes a millisecond
// late, and a spinning process stays runnable, so the kernel keeps
// descheduling processes at arbitrary points of their calls.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

type known struct {
	has bool
	v   val
}

// run warms up until record, then performs operations until deadline (both
// CLOCK_MONOTONIC). Any error from the store other than a modelled result
// ends the process with that error: no kv call here may fail.
func (c *client) run(record, deadline int64) error {
	err := c.warmUp(record)
	if err == nil {
		err = c.loop(deadline)
	}
	if cerr := c.rec.close(); err == nil {
		err = cerr
	}
	return err
}

// warmUp runs unrecorded operations that leave the model's state alone
// until the CLOCK_MONOTONIC time record: filler batches in writers, Gets in
// readers. Every process starting at once makes the first few milliseconds a
// crowd of operations that each span all the others (page faults of the
// fresh file, all processes becoming runnable together), which multiplies
// the orders porcupine has to try; the recording starts after it.
func (c *client) warmUp(record int64) error {
	for now() < record {
		if c.writer {
			if err := c.fill(); err != nil {
				return fmt.Errorf("client %d filler batch: %w", c.id, err)
			}
			continue
		}
		if _, err := c.st.Get([]byte(hotKeys[c.rng.IntN(nKeys)])); err != nil && !errors.Is(err, kv.ErrNotFound) {
			return fmt.Errorf("client %d warm-up Get: %w", c.id, err)
		}
	}
	return nil
}

func (c *client) loop(deadline int64) error {
	for now() < deadline {
		if c.writer && c.rng.IntN(fillEvery) == 0 {
			if err := c.fill(); err != nil {
				return fmt.Errorf("client %d filler batch: %w", c.id, err)
			}
			continue
		}
		in := c.next()
		id := c.seq
		c.seq++
		t0 := now()
		if err := c.rec.call(id, t0, in); err != nil {
			return err
		}
		out, err := c.apply(in)
		t1 := now()
		if err != nil {
			return fmt.Errorf("client %d op %d %s: %w", c.id, id, describeOp(in, output{Unknown: true}), err)
		}
		if err := c.rec.ret(id, t1, out); err != nil {
			return err
		}
		c.learn(in, out)
		if c.pause > 0 {
			spin(time.Duration(c.rng.Int64N(int64(2 * c.pause))))
		}
	}
	return nil
}

func (c *client) key2() (uint8, uint8) {
	a := uint8(c.rng.IntN(nKeys))
	b := uint8(c.rng.IntN(nKeys - 1))
	if b >= a {
		b++
	}
	return a, b
}

// newVal is the i-th value of the client's next operation, one no one else
// writes: 8 bytes (always for the counter, so that Add works on it) or text
// of 9 to 40 bytes (Add on it is ErrInvalid).
func (c *client) newVal(k uint8, i int) val {
	if k == counter || c.rng.IntN(2) == 0 {
		return value8(c.id, 2*c.seq+i)
	}
	return valueText(c.id, 2*c.seq+i, 9+c.rng.IntN(32))
}

func (c *client) next() input {
	in := input{Kind: c.m.pick(c.rng)}
	in.Keys[0], in.Keys[1] = c.key2()
	switch in.Kind {
	case opPut:
		in.Vals[0] = c.newVal(in.Keys[0], 0)
	case opUpdate, opFailUpdate:
		in.Vals[0], in.Vals[1] = c.newVal(in.Keys[0], 0), c.newVal(in.Keys[1], 1)
	case opCAS:
		kn := c.known[in.Keys[0]]
		in.OldNil = !kn.has || c.rng.IntN(4) == 0
		if !in.OldNil {
			in.Old = kn.v
		}
		in.Vals[0] = c.newVal(in.Keys[0], 0)
	case opAdd:
		if c.rng.IntN(8) != 0 {
			in.Keys[0] = counter
		}
		in.Delta = int64(c.rng.IntN(13)) - 3
	}
	return in
}

// learn notes what the client now knows of the keys, for later CAS calls.
func (c *client) learn(in input, out output) {
	set := func(k uint8, has bool, v val) { c.known[k].has, c.known[k].v = has, v }
	switch in.Kind {
	case opGet:
		set(in.Keys[0], out.Found[0], out.Vals[0])
	case opRead2, opView:
		set(in.Keys[0], out.Found[0], out.Vals[0])
		set(in.Keys[1], out.Found[1], out.Vals[1])
	case opPut:
		set(in.Keys[0], true, in.Vals[0])
	case opUpdate:
		set(in.Keys[0], true, in.Vals[0])
		set(in.Keys[1], true, in.Vals[1])
	case opCAS:
		if out.Swapped {
			set(in.Keys[0], true, in.Vals[0])
		}
	case opAdd:
		if !out.Invalid {
			set(in.Keys[0], true, val(binary.LittleEndian.AppendUint64(nil, uint64(out.N))))
		}
	}
}

// fill inserts a batch of new filler keys, or deletes a batch of old ones.
func (c *client) fill() error {
	if len(c.fillers) >= maxFillers || len(c.fillers) > 0 && c.rng.IntN(2) == 0 {
		drop := c.takeFillers(1 + c.rng.IntN(fillBatch))
		return c.st.Update(func(tx txn) error {
			for _, f := range drop {
				if err := tx.Delete(f); err != nil {
					return err
				}
			}
			return nil
		})
	}
	n := 1 + c.rng.IntN(fillBatch)
	batch := make([][]byte, n)
	for i := range batch {
		batch[i] = []byte("f" + strconv.Itoa(c.id) + "." + strconv.Itoa(c.fillSeq))
		c.fillSeq++
	}
	err := c.st.Update(func(tx txn) error {
		for _, f := range batch {
			if err := tx.Put(f, make([]byte, 8+c.rng.IntN(120))); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		c.fillers = append(c.fillers, batch...)
	}
	return err
}

// takeFillers removes up to n of the client's oldest fillers from its list,
// for a write that deletes them.
func (c *client) takeFillers(n int) [][]byte {
	n = min(n, len(c.fillers))
	drop := c.fillers[:n:n]
	c.fillers = c.fillers[n:]
	return drop
}
