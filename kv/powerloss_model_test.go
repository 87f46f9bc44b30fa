//go:build unix

package kv

import (
	"slices"
	"strings"
	"testing"
)

// The checker's verdicts, on contents built from the model itself: each
// class must be reported for what it names and nothing else.

// plContent returns the content the model says the store holds.
func plContent(m *plModel) map[string][]byte {
	got := map[string][]byte{}
	for k, e := range m.state {
		if e.present {
			size, _ := m.w.sizeOf(e.op, k)
			got[k] = m.w.value(e.op, k, size)
		}
	}
	return got
}

// firstUpdate returns the index of the first Update of at least two puts
// on keys that already exist, after op from.
func firstUpdate(t *testing.T, w *plWorkload, from int) int {
	m := newPLModel(w)
	for j := 0; j < len(w.ops); j++ {
		m.advance(j)
		op := w.ops[j]
		if j < from || op.kind != 'u' || op.fails {
			continue
		}
		old := 0
		for i, k := range op.keys {
			if e := m.state[k]; e.present && op.sizes[i] >= 0 {
				old++
			}
		}
		if old >= 2 {
			return j
		}
	}
	t.Fatal("the workload has no Update over two existing keys")
	return 0
}

func TestPowerLossVerdicts(t *testing.T) {
	w := newPLWorkload(1, 600)
	u := firstUpdate(t, w, 50)
	m := newPLModel(w)
	m.advance(u) // ops before u acknowledged, u pending
	clean := plContent(m)

	if v := m.compare(clean, true); v.class != "" {
		t.Fatalf("the acknowledged state: %s: %s", v.class, v.detail)
	}
	after := newPLModel(w)
	after.advance(u + 1)
	if v := m.compare(plContent(after), true); v.class != "" {
		t.Fatalf("the state with the pending Update applied: %s: %s", v.class, v.detail)
	}
	if v := m.compare(plContent(after), false); v.class != "lost-ack" && v.class != "corrupt-value" {
		t.Fatalf("the Update applied though it had not started: %q, want a failure", v.class)
	}

	// Half of the pending Update: its first put key new, the others old.
	half := plContent(m)
	op := w.ops[u]
	for i, k := range op.keys {
		if i == 0 && op.sizes[i] >= 0 {
			half[k] = w.value(u, k, op.sizes[i])
		}
	}
	if v := m.compare(half, true); v.class != "half-applied" {
		t.Errorf("half of Update %d (%s): %q %s, want half-applied", u, op, v.class, v.detail)
	}

	// An acknowledged key lost, or holding an older value.
	var victim string
	for k, e := range m.state {
		if e.present && e.op < u-1 && !slices.Contains(op.keys, k) {
			victim = k
			break
		}
	}
	lost := plContent(m)
	delete(lost, victim)
	v := m.compare(lost, true)
	if v.class != "lost-ack" || len(v.lost) != 1 || v.lost[0] != m.state[victim].op {
		t.Errorf("%s deleted: %q %v %s, want lost-ack of op %d", victim, v.class, v.lost, v.detail, m.state[victim].op)
	}
	if len(plContent(newPLModel(w))) != 0 {
		t.Fatal("the empty model holds keys")
	}
	if v := m.compare(map[string][]byte{}, true); v.class != "lost-ack" || !strings.Contains(v.detail, "created anew") {
		t.Errorf("an empty store after %d acknowledged ops: %q %s", u, v.class, v.detail)
	}

	// A torn value, and a value no op wrote.
	bad := plContent(m)
	b := append([]byte(nil), bad[victim]...)
	b[len(b)-1] ^= 1
	bad[victim] = b
	if v := m.compare(bad, true); v.class != "corrupt-value" {
		t.Errorf("a flipped bit in %s: %q %s, want corrupt-value", victim, v.class, v.detail)
	}
	extra := plContent(m)
	extra["nobody wrote this"] = []byte("x")
	if v := m.compare(extra, true); v.class != "corrupt-value" {
		t.Errorf("a key no op wrote: %q %s, want corrupt-value", v.class, v.detail)
	}

	// A value of an Update that failed on purpose, or the throwaway value
	// an Update replaced, is never the store's.
	for j, op := range w.ops[:u] {
		size := op.scratch
		if op.fails {
			size = op.sizes[0]
		}
		if op.kind != 'u' || size <= 0 {
			continue
		}
		seen := plContent(m)
		seen[op.keys[0]] = w.value(j, op.keys[0], size)
		if v := m.compare(seen, true); v.class != "corrupt-value" {
			t.Errorf("op %d's (%s) value visible: %q %s, want corrupt-value", j, op, v.class, v.detail)
		}
	}
}

func TestPowerLossWorkloadShape(t *testing.T) {
	w := newPLWorkload(1, 2500)
	var puts, dels, updates, chained, updDeletes, fails, scratch int
	for _, op := range w.ops {
		switch op.kind {
		case 'p':
			puts++
		case 'd':
			dels++
		case 'u':
			updates++
			if len(op.keys) < 2 {
				t.Fatalf("an Update of %d keys", len(op.keys))
			}
			if op.fails {
				fails++
			}
			if op.scratch > 0 {
				scratch++
			}
		}
		for _, s := range op.sizes {
			if s > 2016 {
				chained++
			}
			if s < 0 && op.kind == 'u' {
				updDeletes++
			}
		}
	}
	if puts < 500 || dels < 200 || updates < 500 || chained < 200 || updDeletes < 20 || fails < 50 || scratch < 100 {
		t.Errorf("%d Puts, %d Deletes, %d Updates (%d deleting, %d failing, %d writing a key twice), %d values over 2016 bytes: not the mix intended",
			puts, dels, updates, updDeletes, fails, scratch, chained)
	}
	again := newPLWorkload(1, 2500)
	for j := range w.ops {
		if w.ops[j].String() != again.ops[j].String() {
			t.Fatalf("op %d differs between two generations with one seed", j)
		}
	}
}
