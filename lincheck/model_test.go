//go:build unix

package lincheck

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The model's verdicts on small hand-made histories: it must accept what kv
// may do and reject what it must not, or the cross-process test proves
// nothing. Times are in arbitrary units; a pair [c, r] is an interval.

type hop struct {
	in     input
	out    output
	c, r   int64
	client int
}

func ops(h ...hop) []porcupine.Operation {
	var res []porcupine.Operation
	for _, o := range h {
		res = append(res, porcupine.Operation{ClientId: o.client, Input: o.in, Output: o.out, Call: o.c, Return: o.r})
	}
	return res
}

func get(k uint8, v val, c, r int64) hop {
	o := hop{in: input{Kind: opGet, Keys: [2]uint8{k}}, c: c, r: r, client: 1}
	if v != "" {
		o.out.Found[0], o.out.Vals[0] = true, v
	}
	return o
}

func put(k uint8, v val, c, r int64) hop {
	return hop{in: input{Kind: opPut, Keys: [2]uint8{k}, Vals: [2]val{v}}, c: c, r: r}
}

func final(s state, at int64) hop {
	o := hop{in: input{Kind: opFinal}, c: at, r: at, client: 2}
	o.out.Found, o.out.Vals = s.Has, s.Val
	return o
}

// killed makes h an operation of unknown outcome, settled by its return
// (math.MaxInt64 if that is 0).
func killed(h hop) hop {
	if h.r == 0 {
		h.r = math.MaxInt64
	}
	h.out = output{Unknown: true}
	return h
}

func le(n int64) val { return val(binary.LittleEndian.AppendUint64(nil, uint64(n))) }

func TestModel(t *testing.T) {
	upd := func(kind kind, v0, v1 val, c, r int64) hop {
		return hop{in: input{Kind: kind, Keys: [2]uint8{0, 1}, Vals: [2]val{v0, v1}}, c: c, r: r}
	}
	read2 := func(v0, v1 val, c, r int64) hop {
		o := hop{in: input{Kind: opRead2, Keys: [2]uint8{0, 1}}, c: c, r: r, client: 1}
		o.out.Found = [nKeys]bool{v0 != "", v1 != ""}
		o.out.Vals[0], o.out.Vals[1] = v0, v1
		return o
	}
	cas := func(oldNil bool, old, nv val, swapped bool, c, r int64) hop {
		o := hop{in: input{Kind: opCAS, Keys: [2]uint8{0}, Vals: [2]val{nv}, Old: old, OldNil: oldNil}, c: c, r: r}
		o.out.Swapped = swapped
		return o
	}
	add := func(k uint8, d, n int64, invalid bool, c, r int64) hop {
		o := hop{in: input{Kind: opAdd, Keys: [2]uint8{k}, Delta: d}, c: c, r: r}
		o.out.N, o.out.Invalid = n, invalid
		return o
	}
	var empty state
	cases := []struct {
		name string
		h    []hop
		ok   bool
	}{
		{"read your write", []hop{put(0, "a", 0, 1), get(0, "a", 2, 3)}, true},
		{"concurrent read sees either", []hop{put(0, "a", 0, 1), put(0, "b", 2, 5), get(0, "a", 3, 4)}, true},
		{"stale read", []hop{put(0, "a", 0, 1), put(0, "b", 2, 3), get(0, "a", 4, 5)}, false},
		{"value never written", []hop{put(0, "a", 0, 1), get(0, "x", 2, 3)}, false},
		{"false miss", []hop{put(0, "a", 0, 1), get(0, "", 2, 3)}, false},
		{"delete", []hop{put(0, "a", 0, 1), {in: input{Kind: opDelete}, c: 2, r: 3}, get(0, "", 4, 5)}, true},
		{"update seen whole", []hop{upd(opUpdate, "a", "b", 0, 3), read2("a", "b", 1, 2)}, true},
		{"half an update", []hop{upd(opUpdate, "a", "b", 0, 3), read2("a", "", 1, 2)}, false},
		{"half an update, two gets", []hop{upd(opUpdate, "a", "b", 0, 10), get(0, "a", 1, 2), get(1, "", 3, 4)}, false},
		{"failing update seen", []hop{upd(opFailUpdate, "a", "b", 0, 1), get(0, "a", 2, 3)}, false},
		{"failing update unseen", []hop{upd(opFailUpdate, "a", "b", 0, 1), get(0, "", 2, 3), final(empty, 4)}, true},
		{"cas nil on absent", []hop{cas(true, "", "a", true, 0, 1), get(0, "a", 2, 3)}, true},
		{"cas nil on present", []hop{put(0, "a", 0, 1), cas(true, "", "b", true, 2, 3)}, false},
		{"cas match", []hop{put(0, "a", 0, 1), cas(false, "a", "b", true, 2, 3), get(0, "b", 4, 5)}, true},
		{"cas mismatch swapped", []hop{put(0, "a", 0, 1), cas(false, "z", "b", true, 2, 3)}, false},
		{"cas empty old is not absent", []hop{cas(false, "", "b", true, 0, 1)}, false},
		{"add from absent", []hop{add(counter, 5, 5, false, 0, 1), add(counter, -2, 3, false, 2, 3)}, true},
		{"add wrong sum", []hop{add(counter, 5, 5, false, 0, 1), add(counter, 1, 5, false, 2, 3)}, false},
		{"add on text", []hop{put(0, "text", 0, 1), add(0, 1, 0, true, 2, 3)}, true},
		{"add on text succeeds", []hop{put(0, "text", 0, 1), add(0, 1, 1, false, 2, 3)}, false},
		{"add on 8 bytes", []hop{put(0, le(40), 0, 1), add(0, 2, 42, false, 2, 3)}, true},
		{"killed put seen", []hop{killed(put(0, "a", 0, 0)), get(0, "a", 5, 6)}, true},
		{"killed put never applied", []hop{killed(put(0, "a", 0, 0)), get(0, "", 5, 6), final(empty, 7)}, true},
		{"killed put seen then lost", []hop{killed(put(0, "a", 0, 0)), get(0, "a", 5, 6), get(0, "", 7, 8)}, false},
		{"killed put applied after its bound", []hop{killed(put(0, "a", 0, 3)), get(0, "", 5, 6), get(0, "a", 7, 8)}, false},
		{"killed put before invoke", []hop{get(0, "a", 0, 1), killed(put(0, "a", 2, 2))}, false},
		{"killed failing update", []hop{killed(upd(opFailUpdate, "a", "b", 0, 0)), get(0, "a", 5, 6)}, false},
		{"killed add counts once", []hop{killed(add(counter, 5, 0, false, 0, 0)), add(counter, 1, 6, false, 2, 3)}, true},
		{"final state", []hop{put(0, "a", 0, 1), final(empty.with(0, "a"), 2)}, true},
		{"final state wrong", []hop{put(0, "a", 0, 1), final(empty, 2)}, false},
	}
	for _, c := range cases {
		got := porcupine.CheckOperationsTimeout(model, ops(c.h...), 10*time.Second)
		want := porcupine.Ok
		if !c.ok {
			want = porcupine.Illegal
		}
		if got != want {
			t.Errorf("%s: %s, want %s", c.name, got, want)
		}
	}
}

// TestViolationReport checks the failure path of check on a known violation:
// a visualization file and a description that names the stuck operation.
func TestViolationReport(t *testing.T) {
	h := ops(put(0, value8(0, 1), 0, 1), put(0, value8(0, 2), 2, 3), get(0, value8(0, 1), 4, 5))
	v := check(h, 10*time.Second, t.TempDir())
	if v.result != porcupine.Illegal {
		t.Fatalf("%s, want Illegal", v.result)
	}
	if st, err := os.Stat(v.vis); err != nil || st.Size() == 0 || filepath.Ext(v.vis) != ".html" {
		t.Fatalf("visualization %q: %v", v.vis, err)
	}
	if !strings.Contains(v.report, "Get(hot0) → #0.1") || !strings.Contains(v.report, "hot0=#0.2") {
		t.Fatalf("report does not name the stale Get and the state it contradicts:\n%s", v.report)
	}
	t.Log(v.report)
}

// TestHistoryRoundTrip writes a killed client's history the way a child does,
// cuts its last line short, and loads it: the last call becomes an operation
// of unknown outcome, the cut line is dropped, and values survive as bytes.
func TestHistoryRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c0.log")
	rec, err := newRecorder(path, true)
	if err != nil {
		t.Fatal(err)
	}
	bin := val("\x00\xff\x80binary")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rec.call(0, 10, input{Kind: opPut, Vals: [2]val{bin}}))
	must(rec.ret(0, 11, output{}))
	must(rec.call(1, 12, input{Kind: opGet}))
	must(rec.flush())
	b, _ := json.Marshal(record{ID: 2, T: 13, In: &input{Kind: opGet}})
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(b[:len(b)/2])
	f.Close()

	if _, _, err := loadHistory([]clientLog{{path: path}}, 100); err == nil {
		t.Fatal("a history with an unreturned call and a cut line loaded although its process was not killed")
	}
	h, st, err := loadHistory([]clientLog{{path: path, killed: true, killedAt: 20}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if st.ops != 2 || st.pending != 1 {
		t.Fatalf("%+v, want 2 operations, 1 pending", st)
	}
	if h[0].Input.(input).Vals[0] != bin || h[1].Return != 100 || !h[1].Output.(output).Unknown {
		t.Fatalf("loaded %+v", h)
	}
}
