//go:build unix

package kv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// The power-loss workload: a deterministic, seeded sequence of Puts, Deletes
// and Updates that the writer runs and the checker replays as a model. Every
// value names the operation that wrote it, so the checker can tell an
// acknowledged value from an older one, and the keys of one Update carry the
// same operation index (their values agree: all or nothing).
//
// Some Updates fail on purpose after their writes (nothing of them may be
// seen), and some write their first key twice, a throwaway value first: the
// first record is freed by its own commit, so a later write (a failing
// Update's among them) may overwrite it before the power loss. Recovery once
// took such a log for one that never committed (FuzzOps found it).

type plOp struct {
	kind    byte // 'p' Put, 'd' Delete, 'u' Update
	keys    []string
	sizes   []int // the value size of each key; -1 deletes it (in an Update)
	fails   bool  // an Update whose fn returns errPLAbandon after its writes
	scratch int   // an Update: the size of a value first written under keys[0] and then replaced; 0 for none
}

var errPLAbandon = errors.New("power-loss workload: Update abandoned on purpose")

func (op plOp) String() string {
	switch op.kind {
	case 'p':
		return fmt.Sprintf("Put %s (%d bytes)", op.keys[0], op.sizes[0])
	case 'd':
		return "Delete " + op.keys[0]
	}
	var parts []string
	if op.scratch > 0 {
		parts = append(parts, fmt.Sprintf("put %s (%d bytes, replaced below)", op.keys[0], op.scratch))
	}
	for i, k := range op.keys {
		if op.sizes[i] < 0 {
			parts = append(parts, "delete "+k)
		} else {
			parts = append(parts, fmt.Sprintf("put %s (%d bytes)", k, op.sizes[i]))
		}
	}
	if op.fails {
		parts = append(parts, "fail")
	}
	return "Update{" + strings.Join(parts, ", ") + "}"
}

type plWorkload struct {
	seed uint64
	ops  []plOp
}

// plValueHeader: "plv1", the op index and the value's size, then filler
// derived from the seed, the key and the op.
const plValueHeader = 12

// newPLWorkload generates n operations. Most keys are new, so that the file
// grows and its table is rebuilt several times from MinFileSize; one value
// in seven is longer than a record page holds (2016 bytes), so chained
// records are written, overwritten and deleted too.
func newPLWorkload(seed uint64, n int) *plWorkload {
	r := rand.New(rand.NewPCG(seed, 0x706c776b))
	w := &plWorkload{seed: seed}
	var live []string
	pos := map[string]int{}
	next := 0
	newKey := func() string {
		k := fmt.Sprintf("k%05d%s", next, strings.Repeat("-", next%23))
		next++
		return k
	}
	add := func(k string) {
		if _, ok := pos[k]; !ok {
			pos[k] = len(live)
			live = append(live, k)
		}
	}
	remove := func(k string) {
		i, ok := pos[k]
		if !ok {
			return
		}
		last := live[len(live)-1]
		live[i], pos[last] = last, i
		live = live[:len(live)-1]
		delete(pos, k)
	}
	size := func() int {
		switch x := r.IntN(100); {
		case x < 55:
			return plValueHeader + r.IntN(100)
		case x < 86:
			return 120 + r.IntN(1400)
		default:
			return 2017 + r.IntN(4000)
		}
	}
	existing := func(taken map[string]bool) (string, bool) {
		for range 8 {
			if len(live) == 0 {
				break
			}
			if k := live[r.IntN(len(live))]; !taken[k] {
				return k, true
			}
		}
		return "", false
	}
	for range n {
		var op plOp
		switch x := r.IntN(100); {
		case x < 50 || len(live) < 8:
			op.kind = 'p'
			k, ok := existing(nil)
			if !ok || r.IntN(100) < 80 {
				k = newKey()
			}
			op.keys, op.sizes = []string{k}, []int{size()}
		case x < 82:
			op.kind = 'u'
			taken := map[string]bool{}
			for i := range 2 + r.IntN(3) {
				y := r.IntN(100)
				k, ok := existing(taken)
				if !ok || y < 55 {
					k = newKey()
				}
				taken[k] = true
				s := size()
				if i >= 2 && y >= 85 && ok {
					s = -1 // a delete, beside at least two puts
				}
				op.keys, op.sizes = append(op.keys, k), append(op.sizes, s)
			}
			switch y := r.IntN(100); {
			case y < 10:
				op.fails = true
			case y < 35:
				op.scratch = size() + 3 // another size than most, often another class
			}
		default:
			op.kind = 'd'
			k, _ := existing(nil)
			op.keys, op.sizes = []string{k}, []int{-1}
		}
		for i, k := range op.keys {
			switch {
			case op.fails:
			case op.sizes[i] < 0:
				remove(k)
			default:
				add(k)
			}
		}
		w.ops = append(w.ops, op)
	}
	return w
}

// value returns the value op j writes under key.
func (w *plWorkload) value(j int, key string, size int) []byte {
	v := make([]byte, size)
	copy(v, "plv1")
	binary.LittleEndian.PutUint32(v[4:], uint32(j))
	binary.LittleEndian.PutUint32(v[8:], uint32(size))
	r := rand.New(rand.NewPCG(w.seed^xxhash.Sum64String(key), uint64(j)))
	for i := plValueHeader; i < size; i += 8 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], r.Uint64())
		copy(v[i:], b[:])
	}
	return v
}

// apply runs op j against db. An Update that fails on purpose returns nil
// when it failed as it meant to.
func (w *plWorkload) apply(db *DB, j int) error {
	op := w.ops[j]
	switch op.kind {
	case 'p':
		return db.Put([]byte(op.keys[0]), w.value(j, op.keys[0], op.sizes[0]))
	case 'd':
		return db.Delete([]byte(op.keys[0]))
	}
	err := db.Update(func(tx *Tx) error {
		if op.scratch > 0 {
			if err := tx.Put([]byte(op.keys[0]), w.value(j, op.keys[0], op.scratch)); err != nil {
				return err
			}
		}
		for i, k := range op.keys {
			var err error
			if op.sizes[i] < 0 {
				err = tx.Delete([]byte(k))
			} else {
				err = tx.Put([]byte(k), w.value(j, k, op.sizes[i]))
			}
			if err != nil {
				return err
			}
		}
		if op.fails {
			return errPLAbandon
		}
		return nil
	})
	switch {
	case !op.fails:
		return err
	case errors.Is(err, errPLAbandon):
		return nil
	case err == nil:
		return errors.New("the Update that fails on purpose committed")
	}
	return err
}

// plEntry is what the model holds for a key: the op that last wrote or
// deleted it.
type plEntry struct {
	op      int
	present bool
}

// plModel is the state after the first applied ops.
type plModel struct {
	w       *plWorkload
	state   map[string]plEntry
	applied int
}

func newPLModel(w *plWorkload) *plModel {
	return &plModel{w: w, state: map[string]plEntry{}}
}

// advance makes the model the state after the first n ops.
func (m *plModel) advance(n int) {
	if n < m.applied {
		*m = *newPLModel(m.w)
	}
	for ; m.applied < n; m.applied++ {
		op := m.w.ops[m.applied]
		if op.fails {
			continue
		}
		for i, k := range op.keys {
			m.state[k] = plEntry{m.applied, op.sizes[i] >= 0}
		}
	}
}

// sizeOf returns the size op j wrote under key, or false if it did not.
func (w *plWorkload) sizeOf(j int, key string) (int, bool) {
	if j < 0 || j >= len(w.ops) {
		return 0, false
	}
	op := w.ops[j]
	if op.fails {
		return 0, false // nothing it wrote may be seen
	}
	for i, k := range op.keys {
		if k == key && op.sizes[i] >= 0 {
			return op.sizes[i], true
		}
	}
	return 0, false
}

// plFound is one key as the image holds it.
type plFound struct {
	present bool
	op      int  // the op whose value it is, if present and valid
	valid   bool // the value is exactly what that op wrote
}

func (w *plWorkload) decode(key string, v []byte, ok bool) plFound {
	if !ok {
		return plFound{}
	}
	f := plFound{present: true, op: -1}
	if len(v) < plValueHeader || string(v[:4]) != "plv1" {
		return f
	}
	f.op = int(binary.LittleEndian.Uint32(v[4:]))
	if size, wrote := w.sizeOf(f.op, key); wrote && size == len(v) {
		f.valid = bytes.Equal(v, w.value(f.op, key, size))
	}
	return f
}

func (f plFound) matches(e plEntry, known bool) bool {
	if !known || !e.present {
		return !f.present
	}
	return f.present && f.valid && f.op == e.op
}

func (f plFound) String() string {
	switch {
	case !f.present:
		return "nothing"
	case !f.valid:
		return "a value no op wrote"
	}
	return fmt.Sprintf("op %d's value", f.op)
}

// plVerdict is what is wrong with an image's content, if anything.
type plVerdict struct {
	class  string // "", "lost-ack", "half-applied", "corrupt-value"
	detail string
	lost   []int // acknowledged ops whose effect is missing
}

// compare checks the image's content against the model (the state after
// m.applied ops, all acknowledged) and, if pending, the state after the next
// op too, which had started but not returned.
func (m *plModel) compare(got map[string][]byte, pending bool) plVerdict {
	var next map[string]plEntry // the pending op's effect
	if pending && m.applied < len(m.w.ops) && !m.w.ops[m.applied].fails {
		op := m.w.ops[m.applied]
		next = map[string]plEntry{}
		for i, k := range op.keys {
			next[k] = plEntry{m.applied, op.sizes[i] >= 0}
		}
	}
	started := m.applied // ops at or past this had not started
	if next != nil {
		started++
	}
	keys := make([]string, 0, len(got)+len(m.state))
	for k := range got {
		keys = append(keys, k)
	}
	for k := range m.state {
		if _, dup := got[k]; !dup {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var lost, corrupt, oldSide, newSide []string
	lostOps := map[int]bool{}
	for _, k := range keys {
		v, ok := got[k]
		f := m.w.decode(k, v, ok)
		e, known := m.state[k]
		if f.present && !f.valid {
			corrupt = append(corrupt, fmt.Sprintf("%s: %d bytes, %s", k, len(v), f))
			continue
		}
		if n, pend := next[k]; pend {
			switch {
			case f.matches(n, true) && f.matches(e, known):
			case f.matches(n, true):
				newSide = append(newSide, k)
				continue
			case f.matches(e, known):
				oldSide = append(oldSide, k)
				continue
			}
		}
		if f.matches(e, known) {
			continue
		}
		if f.present && f.op >= started {
			corrupt = append(corrupt, fmt.Sprintf("%s: %s, an op that had not started", k, f))
			continue
		}
		if !known {
			corrupt = append(corrupt, fmt.Sprintf("%s: %s, but no op up to %d wrote the key", k, f, m.applied))
			continue
		}
		want := fmt.Sprintf("op %d's value", e.op)
		if !e.present {
			want = fmt.Sprintf("nothing (deleted by op %d)", e.op)
		}
		lost = append(lost, fmt.Sprintf("%s: want %s, got %s", k, want, f))
		lostOps[e.op] = true
	}
	var v plVerdict
	for op := range lostOps {
		v.lost = append(v.lost, op)
	}
	sort.Ints(v.lost)
	var parts []string
	if len(lost) > 0 {
		v.class = "lost-ack"
		parts = append(parts, fmt.Sprintf("%d acknowledged key(s) lost (ops %s): %s", len(lost), intList(v.lost, 8), strList(lost, 3)))
		if len(got) == 0 {
			parts = append(parts, "the store is empty: it was created anew")
		}
	}
	if len(oldSide) > 0 && len(newSide) > 0 {
		if v.class == "" {
			v.class = "half-applied"
		}
		parts = append(parts, fmt.Sprintf("op %d (%s, not acknowledged) half applied: new %s, old %s",
			m.applied, m.w.ops[m.applied], strList(newSide, 4), strList(oldSide, 4)))
	}
	if len(corrupt) > 0 {
		if v.class == "" {
			v.class = "corrupt-value"
		}
		parts = append(parts, fmt.Sprintf("%d wrong value(s): %s", len(corrupt), strList(corrupt, 3)))
	}
	v.detail = strings.Join(parts, "; ")
	return v
}

func strList(s []string, most int) string {
	if len(s) > most {
		return strings.Join(s[:most], ", ") + fmt.Sprintf(" and %d more", len(s)-most)
	}
	return strings.Join(s, ", ")
}

func intList(s []int, most int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strList(parts, most)
}
