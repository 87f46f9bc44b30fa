//go:build unix

package lincheck

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Values the clients write are unique and tell who wrote them: an 8-byte value
// is tagged8 | client<<32 | n, little-endian (so Add can work on it); a text
// value is "c<client>.<n>" padded with '_' to its length. n is 2×(the
// operation's number in its client) + (the value's index in the operation).
const tagged8 = 1 << 62

func value8(client, seq int) val {
	return val(binary.LittleEndian.AppendUint64(nil, tagged8|uint64(client)<<32|uint64(uint32(seq))))
}

func valueText(client, seq, length int) val {
	s := "c" + strconv.Itoa(client) + "." + strconv.Itoa(seq)
	if len(s) < length {
		s += strings.Repeat("_", length-len(s))
	}
	return val(s)
}

// describeVal names a value by who wrote it: "#3.17" (8 bytes, client 3's
// operation 8, its second value; an Add of d to it reads as n+d), "c3.17/20"
// (text, 20 bytes), or an integer (Adds from an absent key).
func describeVal(v val) string {
	if len(v) == 8 {
		n := binary.LittleEndian.Uint64([]byte(v))
		if n&(3<<62) == tagged8 {
			return fmt.Sprintf("#%d.%d", n>>32&(1<<30-1), uint32(n))
		}
		return strconv.FormatInt(int64(n), 10)
	}
	if t := strings.TrimRight(string(v), "_"); strings.HasPrefix(t, "c") && len(t) < len(v) {
		return fmt.Sprintf("%s/%d", t, len(v))
	}
	return strconv.Quote(string(v))
}

func describeRead(found bool, v val) string {
	if !found {
		return "absent"
	}
	return describeVal(v)
}

func describeOp(in input, out output) string {
	k0, k1 := hotKeys[in.Keys[0]], hotKeys[in.Keys[1]]
	res := ""
	if out.Unknown {
		res = "killed: "
	}
	switch in.Kind {
	case opGet:
		res += fmt.Sprintf("Get(%s)", k0)
		if !out.Unknown {
			res += " → " + describeRead(out.Found[0], out.Vals[0])
		}
	case opRead2, opView:
		res += fmt.Sprintf("%s(%s, %s)", kindNames[in.Kind], k0, k1)
		if !out.Unknown {
			res += " → " + describeRead(out.Found[0], out.Vals[0]) + ", " + describeRead(out.Found[1], out.Vals[1])
		}
	case opFinal:
		parts := make([]string, nKeys)
		for k := range parts {
			parts[k] = hotKeys[k] + "=" + describeRead(out.Found[k], out.Vals[k])
		}
		res += "Final " + strings.Join(parts, " ")
	case opPut:
		res += fmt.Sprintf("Put(%s, %s)", k0, describeVal(in.Vals[0]))
	case opDelete:
		res += fmt.Sprintf("Delete(%s)", k0)
	case opUpdate, opFailUpdate:
		res += fmt.Sprintf("%s(%s=%s, %s=%s)", kindNames[in.Kind], k0, describeVal(in.Vals[0]), k1, describeVal(in.Vals[1]))
	case opCAS:
		old := "nil"
		if !in.OldNil {
			old = describeVal(in.Old)
		}
		res += fmt.Sprintf("CAS(%s, %s → %s)", k0, old, describeVal(in.Vals[0]))
		if !out.Unknown {
			res += fmt.Sprintf(" → %v", out.Swapped)
		}
	case opAdd:
		res += fmt.Sprintf("Add(%s, %+d)", k0, in.Delta)
		switch {
		case out.Unknown:
		case out.Invalid:
			res += " → ErrInvalid"
		default:
			res += " → " + describeVal(val(binary.LittleEndian.AppendUint64(nil, uint64(out.N))))
		}
	default:
		res += fmt.Sprintf("kind %d?", in.Kind)
	}
	return res
}

func describeState(s state) string {
	parts := make([]string, nKeys)
	for k := range parts {
		parts[k] = hotKeys[k] + "=" + describeRead(s.Has[k], s.Val[k])
	}
	return strings.Join(parts, " ")
}
