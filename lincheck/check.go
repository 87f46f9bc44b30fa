//go:build unix

package lincheck

import (
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

var hashSeed = maphash.MakeSeed()

// model is step as porcupine wants it: the whole map in one partition, since
// an Update writes two keys and a final read sees all of them. It is
// nondeterministic for operations of unknown outcome, which either took
// their effect or did not; porcupine tracks the set of states that are
// possible (usually one: the next read of the key decides).
var model = (&porcupine.NondeterministicModel{
	Init: func() []interface{} { return []interface{}{state{}} },
	Step: func(s, in, out interface{}) []interface{} {
		st, i, o := s.(state), in.(input), out.(output)
		ok, next := step(st, i, o)
		switch {
		case !ok:
			return nil
		case o.Unknown && next != st:
			return []interface{}{st, next}
		}
		return []interface{}{next}
	},
	Hash: func(s interface{}) uint64 {
		st := s.(state)
		var h maphash.Hash
		h.SetSeed(hashSeed)
		for k := range nKeys {
			if st.Has[k] {
				h.WriteByte(byte(k))
				h.WriteString(string(st.Val[k]))
			}
		}
		return h.Sum64()
	},
	DescribeOperation: func(in, out interface{}) string { return describeOp(in.(input), out.(output)) },
	DescribeState:     func(s interface{}) string { return describeState(s.(state)) },
}).ToModel()

// A verdict is the outcome of checking one history.
type verdict struct {
	result porcupine.CheckResult
	took   time.Duration
	vis    string // the visualization's path, when the history is not linearizable
	saved  string // the history's path, when it is not linearizable or the check gave up
	report string // the violating operations, in a few lines
}

// check runs porcupine on ops within timeout. When the history is not
// linearizable it checks again with the data for porcupine's visualization,
// writes that to a new file in visDir, and describes the violation.
func check(ops []porcupine.Operation, timeout time.Duration, visDir string) verdict {
	start := time.Now()
	res := porcupine.CheckOperationsTimeout(model, ops, timeout)
	v := verdict{result: res, took: time.Since(start)}
	if res == porcupine.Ok {
		return v
	}
	var err error
	if v.saved, err = saveHistory(ops, visDir); err != nil {
		v.report = fmt.Sprintf("(history not saved: %v)\n", err)
	}
	if res != porcupine.Illegal {
		return v
	}
	_, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	v.report += describeViolation(ops, info)
	f, err := os.CreateTemp(visDir, "mapkv-lincheck-*.html")
	if err == nil {
		f.Close()
		err = porcupine.VisualizePath(model, info, f.Name())
	}
	if err != nil {
		v.report += fmt.Sprintf("\n(no visualization: %v)", err)
	} else {
		v.vis = f.Name()
	}
	return v
}

// describeViolation explains where the longest linearizable prefix porcupine
// found gets stuck: the state it reaches, and the operations that would have
// to come next (every one not linearized yet that was invoked before the
// earliest return among them) with why the model rejects each. The
// visualization shows the whole picture.
func describeViolation(ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	parts := info.PartialLinearizations()
	if len(parts) == 0 || len(parts[0]) == 0 {
		return "porcupine reported no partial linearization"
	}
	best := parts[0][0]
	for _, p := range parts[0] {
		if len(p) > len(best) {
			best = p
		}
	}
	base := int64(1<<63 - 1)
	for _, op := range ops {
		base = min(base, op.Call)
	}
	done := make([]bool, len(ops))
	s := model.Init()
	for _, id := range best {
		done[id] = true
		_, s = model.Step(s, ops[id].Input, ops[id].Output)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "not linearizable: the longest linearizable prefix has %d of %d operations and ends in state %s\n",
		len(best), len(ops), model.DescribeState(s))
	if n := len(best); n > 0 {
		fmt.Fprintf(&b, "  its last operations:\n")
		for _, id := range best[max(0, n-4):] {
			fmt.Fprintf(&b, "    %s\n", describeOperation(ops[id], base))
		}
	}
	earliest := int64(1<<63 - 1)
	for id, op := range ops {
		if !done[id] && op.Return < earliest {
			earliest = op.Return
		}
	}
	var next []int
	for id, op := range ops {
		if !done[id] && op.Call <= earliest {
			next = append(next, id)
		}
	}
	sort.Slice(next, func(i, j int) bool { return ops[next[i]].Call < ops[next[j]].Call })
	fmt.Fprintf(&b, "  one of these must come next; the model accepts none of them there:\n")
	for _, id := range next {
		ok, _ := model.Step(s, ops[id].Input, ops[id].Output)
		why := "rejected in this state"
		if ok {
			why = "accepted here, but every order after it fails"
		}
		fmt.Fprintf(&b, "    %s: %s\n", describeOperation(ops[id], base), why)
	}
	return strings.TrimRight(b.String(), "\n")
}

// describeOperation is an operation with its client and its interval, in
// microseconds from base.
func describeOperation(op porcupine.Operation, base int64) string {
	ret := "never returned"
	if op.Return != 1<<63-1 {
		ret = fmt.Sprintf("%.1f", float64(op.Return-base)/1e3)
	}
	return fmt.Sprintf("client %d [%.1f, %s µs]: %s", op.ClientId, float64(op.Call-base)/1e3, ret,
		describeOp(op.Input.(input), op.Output.(output)))
}

// visDirDefault is where a failure's visualization goes when the caller has
// no directory of its own: the system's temporary directory, which outlives
// the test.
var visDirDefault = filepath.Clean(os.TempDir())
