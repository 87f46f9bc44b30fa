//go:build unix

package lincheck

import (
	"errors"
	"fmt"

	"github.com/mapkv/mapkv/kv"
)

// apply makes the call in describes and returns its result.
func (c *client) apply(in input) (output, error) {
	var out output
	k0, k1 := []byte(hotKeys[in.Keys[0]]), []byte(hotKeys[in.Keys[1]])
	v0, v1 := []byte(in.Vals[0]), []byte(in.Vals[1])
	var err error
	switch in.Kind {
	case opGet:
		var v []byte
		v, err = c.st.Get(k0)
		out.Found[0], out.Vals[0], err = readResult(v, err)
	case opRead2:
		err = c.st.Update(func(tx txn) error {
			v, err := tx.Get(k0)
			if out.Found[0], out.Vals[0], err = readResult(v, err); err != nil {
				return err
			}
			v, err = tx.Get(k1)
			out.Found[1], out.Vals[1], err = readResult(v, err)
			return err
		})
	case opView:
		err = c.st.View(func(tx reader) error {
			v, err := tx.Get(k0)
			if out.Found[0], out.Vals[0], err = readResult(v, err); err != nil {
				return err
			}
			v, err = tx.Get(k1)
			out.Found[1], out.Vals[1], err = readResult(v, err)
			return err
		})
	case opPut:
		err = c.st.Put(k0, v0)
	case opDelete:
		err = c.st.Delete(k0)
	case opUpdate:
		drop := c.takeFillers(c.rng.IntN(dropInHotOp + 1))
		err = c.st.Update(func(tx txn) error {
			if err := tx.Put(k0, v0); err != nil {
				return err
			}
			for _, f := range drop {
				if err := tx.Delete(f); err != nil {
					return err
				}
			}
			return tx.Put(k1, v1)
		})
	case opFailUpdate:
		err = c.st.Update(func(tx txn) error {
			if err := tx.Put(k0, v0); err != nil {
				return err
			}
			if err := tx.Put(k1, v1); err != nil {
				return err
			}
			return errFail
		})
		if err == errFail {
			err = nil
		} else {
			err = fmt.Errorf("returned %v, want its fn's error as it is", err)
		}
	case opCAS:
		var old []byte
		if !in.OldNil {
			old = []byte(in.Old)
		}
		out.Swapped, err = c.st.CompareAndSwap(k0, old, v0, 0)
	case opAdd:
		out.N, err = c.st.Add(k0, in.Delta)
		if errors.Is(err, kv.ErrInvalid) {
			out.N, out.Invalid, err = 0, true, nil
		}
	default:
		err = fmt.Errorf("no call for kind %d", in.Kind)
	}
	return out, err
}

func readResult(v []byte, err error) (bool, val, error) {
	if errors.Is(err, kv.ErrNotFound) {
		return false, "", nil
	}
	return err == nil, val(v), err
}
