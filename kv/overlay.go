package kv

// overlay holds a transaction's pending writes to metadata words (slots,
// allocator state, header counters) until commit. Reads inside the transaction
// see these values first. Writes are appended, never replaced, so that a
// failed operation inside an Update can be rolled back to a savepoint.
type overlay struct {
	offs     []uint64 // firstBit marks an offset's first write; dropped marks a removed entry
	vals     []uint64
	idx      map[uint64]int32     // offset -> latest entry, once the list is long
	hdr      *[PageSize / 8]int32 // header word -> latest entry + 1, alongside idx
	distinct int                  // offsets written (entries with firstBit, not dropped)
	drops    []dropped            // entries removed by drop, restored by rollback
}

// dropped remembers an entry that drop removed.
type dropped struct {
	i     int
	entry uint64
}

// overlayMark is a savepoint of the overlay.
type overlayMark struct{ n, drops int }

const (
	firstBit     = 1 << 63
	droppedEntry = ^uint64(0)
	indexAfter   = 24 // below this many entries a backward scan beats a map
)

func (o *overlay) reset() {
	o.offs = o.offs[:0]
	o.vals = o.vals[:0]
	o.idx = nil
	if o.hdr != nil {
		clear(o.hdr[:])
	}
	o.distinct = 0
	o.drops = o.drops[:0]
}

func (o *overlay) mark() overlayMark { return overlayMark{len(o.offs), len(o.drops)} }

// find returns the latest entry for off, or -1.
func (o *overlay) find(off uint64) int {
	if o.idx != nil && off < PageSize {
		// The header's counters and list heads change in every operation of a
		// large transaction: an array beats the map for them.
		return int(o.hdr[off/8]) - 1
	}
	if o.idx != nil {
		if i, ok := o.idx[off]; ok {
			return int(i)
		}
		return -1
	}
	for i := len(o.offs) - 1; i >= 0; i-- {
		if o.offs[i]&^firstBit == off && o.offs[i] != droppedEntry {
			return i
		}
	}
	return -1
}

func (o *overlay) get(off uint64) (uint64, bool) {
	if i := o.find(off); i >= 0 {
		return o.vals[i], true
	}
	return 0, false
}

func (o *overlay) set(off, v uint64) {
	e := off
	if o.find(off) < 0 {
		e |= firstBit
		o.distinct++
	}
	o.offs = append(o.offs, e)
	o.vals = append(o.vals, v)
	if o.idx != nil {
		o.index(off, len(o.offs)-1)
	} else if len(o.offs) > indexAfter {
		o.reindex()
	}
}

// rollback forgets every write and drop made after the mark.
func (o *overlay) rollback(m overlayMark) {
	n := m.n
	for i := len(o.drops) - 1; i >= m.drops; i-- {
		if d := o.drops[i]; d.i < n {
			o.offs[d.i] = d.entry
			if d.entry&firstBit != 0 {
				o.distinct++
			}
		}
	}
	o.drops = o.drops[:m.drops]
	for _, e := range o.offs[n:] {
		if e != droppedEntry && e&firstBit != 0 {
			o.distinct--
		}
	}
	o.offs = o.offs[:n]
	o.vals = o.vals[:n]
	if o.idx != nil {
		o.reindex()
	}
}

// drop removes every pending write to [lo, hi): a rehash has copied them into
// the new table, and the old table is about to be freed.
func (o *overlay) drop(lo, hi uint64) {
	for i, e := range o.offs {
		off := e &^ firstBit
		if e == droppedEntry || off < lo || off >= hi {
			continue
		}
		if e&firstBit != 0 {
			o.distinct--
		}
		o.drops = append(o.drops, dropped{i, e})
		o.offs[i] = droppedEntry
		if o.idx != nil {
			o.index(off, -1)
		}
	}
}

func (o *overlay) reindex() {
	o.idx = make(map[uint64]int32, 2*len(o.offs))
	if o.hdr == nil {
		o.hdr = new([PageSize / 8]int32)
	} else {
		clear(o.hdr[:])
	}
	for i, e := range o.offs {
		if e != droppedEntry {
			o.index(e&^firstBit, i)
		}
	}
}

// index records entry i as the latest for off; -1 forgets off.
func (o *overlay) index(off uint64, i int) {
	switch {
	case off < PageSize:
		o.hdr[off/8] = int32(i + 1)
	case i < 0:
		delete(o.idx, off)
	default:
		o.idx[off] = int32(i)
	}
}

// each calls fn for every written offset with its latest value, in the order
// of the offsets' first writes. That order matters to readers: a rehash
// publishes the new table before it frees the old one's pages.
func (o *overlay) each(fn func(off, v uint64)) {
	for _, e := range o.offs {
		if e == droppedEntry || e&firstBit == 0 {
			continue
		}
		off := e &^ firstBit
		fn(off, o.vals[o.find(off)])
	}
}

// inRange reports whether any pending write falls in [lo, hi).
func (o *overlay) inRange(lo, hi uint64) bool {
	for _, e := range o.offs {
		if off := e &^ firstBit; e != droppedEntry && off >= lo && off < hi {
			return true
		}
	}
	return false
}
