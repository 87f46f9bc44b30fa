//go:build unix

package lincheck

import (
	"encoding/binary"
	"encoding/hex"
)

// The hot keys. Every process works on these few keys so that operations
// collide; a modelled operation names them by index, which keeps the model's
// state a small comparable array.
var hotKeys = [nKeys]string{"hot0", "hot1", "hot2", "ctr"}

const (
	nKeys   = 4
	counter = 3 // the key Add works on: every value written to it is 8 bytes
)

// kind is a modelled operation. Each kind has one case in step (its
// sequential semantics), one in describeOp and one in apply (the call).
type kind uint8

const (
	opGet        kind = iota + 1 // Get(Keys[0])
	opPut                        // Put(Keys[0], Vals[0])
	opDelete                     // Delete(Keys[0])
	opUpdate                     // Update: Put both Keys to both Vals, atomically
	opFailUpdate                 // Update whose fn Puts both Keys, then returns an error
	opCAS                        // CompareAndSwap(Keys[0], Old or nil, Vals[0])
	opAdd                        // Add(Keys[0], Delta)
	opRead2                      // Update whose fn reads both Keys with tx.Get
	opView                       // View reading both Keys: as opRead2, as of one point
	opFinal                      // the parent's read of every key once no process runs
)

var kindNames = map[kind]string{
	opGet: "Get", opPut: "Put", opDelete: "Delete", opUpdate: "Update",
	opFailUpdate: "FailingUpdate", opCAS: "CompareAndSwap", opAdd: "Add",
	opRead2: "Update(tx.Get×2)", opView: "View(Get×2)", opFinal: "Final",
}

// val is a value as the model sees it. It is a string so that states compare
// with ==, and it travels through the history files as hex because values
// are arbitrary bytes.
type val string

func (v val) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString([]byte(v))), nil }

func (v *val) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	*v = val(d)
	return err
}

// input is what an operation was asked to do.
type input struct {
	Kind   kind     `json:"k"`
	Keys   [2]uint8 `json:"keys"`
	Vals   [2]val   `json:"vals"`
	Old    val      `json:"old,omitempty"`
	OldNil bool     `json:"oldnil,omitempty"` // CAS "only if absent"
	Delta  int64    `json:"delta,omitempty"`
}

// output is what it returned. Reads fill Found and Vals at the positions of
// their keys (opFinal: at every key's index).
type output struct {
	// Unknown marks an operation whose process was killed before it
	// returned: it may or may not have taken effect, and it returned nothing.
	Unknown bool        `json:"unknown,omitempty"`
	Found   [nKeys]bool `json:"found"`
	Vals    [nKeys]val  `json:"vals"`
	Swapped bool        `json:"swapped,omitempty"` // CAS
	N       int64       `json:"n,omitempty"`       // Add's result
	Invalid bool        `json:"invalid,omitempty"` // Add on a value that is not 8 bytes
}

// state is the sequential model: which hot keys are present, with which value.
type state struct {
	Has [nKeys]bool
	Val [nKeys]val
}

func (s state) with(k uint8, v val) state { s.Has[k], s.Val[k] = true, v; return s }
func (s state) without(k uint8) state     { s.Has[k], s.Val[k] = false, ""; return s }

// reads reports whether a read of key k that returned (found, v) agrees with s.
func (s state) reads(k uint8, found bool, v val) bool {
	return found == s.Has[k] && (!found || v == s.Val[k])
}

// step is kv's sequential semantics: whether out is a possible result of in
// applied to s, and the state after it. An operation of unknown outcome
// accepts any output and takes its full effect here; the model in check.go
// adds the other possibility, that it took none.
func step(s state, in input, out output) (bool, state) {
	k0, k1 := in.Keys[0], in.Keys[1]
	switch in.Kind {
	case opGet:
		return out.Unknown || s.reads(k0, out.Found[0], out.Vals[0]), s
	case opRead2, opView:
		return out.Unknown || s.reads(k0, out.Found[0], out.Vals[0]) && s.reads(k1, out.Found[1], out.Vals[1]), s
	case opFinal:
		for k := range uint8(nKeys) {
			if !s.reads(k, out.Found[k], out.Vals[k]) {
				return false, s
			}
		}
		return true, s
	case opPut:
		return true, s.with(k0, in.Vals[0])
	case opDelete:
		return true, s.without(k0)
	case opUpdate:
		return true, s.with(k0, in.Vals[0]).with(k1, in.Vals[1])
	case opFailUpdate:
		return true, s // its fn failed: none of its writes may ever be seen
	case opCAS:
		match := !s.Has[k0] && in.OldNil || s.Has[k0] && !in.OldNil && s.Val[k0] == in.Old
		if !out.Unknown && out.Swapped != match {
			return false, s
		}
		if match {
			s = s.with(k0, in.Vals[0])
		}
		return true, s
	case opAdd:
		if s.Has[k0] && len(s.Val[k0]) != 8 {
			return out.Unknown || out.Invalid, s
		}
		var n int64
		if s.Has[k0] {
			n = int64(binary.LittleEndian.Uint64([]byte(s.Val[k0])))
		}
		n += in.Delta
		if !out.Unknown && (out.Invalid || out.N != n) {
			return false, s
		}
		return true, s.with(k0, val(binary.LittleEndian.AppendUint64(nil, uint64(n))))
	}
	return false, s // a kind the model does not know is a harness bug; fail loudly
}
