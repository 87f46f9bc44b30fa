package main

// Reference policies without the file's constraints: S3-FIFO and SIEVE as
// their papers define them, over lists in insertion order with an exact
// ghost. They show what the file's constraints (address order, a fixed ghost
// table) cost the candidates of simpolicy.go; mapkv cannot run them as they
// are (a list in insertion order needs every promotion and every reinsertion
// logged, and SIEVE's hand removes from the middle of such a list).

// dlist is a set of doubly linked lists over one node array; list heads are
// sentinel nodes.
type dlist struct {
	nodes []dnode
	free  []int32
}

type dnode struct {
	key        uint64
	weight     int64
	prev, next int32
	freq       uint8
	list       uint8
}

func (d *dlist) sentinel() int32 {
	i := int32(len(d.nodes))
	d.nodes = append(d.nodes, dnode{prev: i, next: i})
	return i
}

func (d *dlist) alloc(key uint64, weight int64, list uint8) int32 {
	var i int32
	if n := len(d.free); n > 0 {
		i, d.free = d.free[n-1], d.free[:n-1]
	} else {
		i = int32(len(d.nodes))
		d.nodes = append(d.nodes, dnode{})
	}
	d.nodes[i] = dnode{key: key, weight: weight, list: list}
	return i
}

func (d *dlist) unlink(i int32) {
	n := &d.nodes[i]
	d.nodes[n.prev].next = n.next
	d.nodes[n.next].prev = n.prev
}

// pushHead inserts i right after sentinel h (the newest end).
func (d *dlist) pushHead(h, i int32) {
	n := &d.nodes[i]
	n.prev, n.next = h, d.nodes[h].next
	d.nodes[n.next].prev = i
	d.nodes[h].next = i
}

func (d *dlist) tail(h int32) int32 { return d.nodes[h].prev }

// s3fifoIdeal is S3-FIFO (SOSP '23): small FIFO 10% of the capacity, main
// FIFO with reinsertion and a 2-bit frequency, ghost FIFO of the keys
// evicted from small (0.9x the entries the cache holds); an entry accessed in
// small moves to main with its frequency reset, a ghost hit goes straight to
// main.
type s3fifoIdeal struct {
	d             dlist
	small, main   int32
	index         map[uint64]int32
	ghost         map[uint64]uint64 // key -> insertion number
	ghostQ        []uint64
	ghostHead     int
	ghostN        uint64
	ghostCap      int
	capacity      int64
	smallW, mainW int64
	entries       int
	smallShare    float64
}

const (
	inSmall = 1
	inMain  = 2
)

func newS3FIFOIdeal(capacity int64, entries int) *s3fifoIdeal {
	c := &s3fifoIdeal{index: map[uint64]int32{}, ghost: map[uint64]uint64{}, capacity: capacity,
		ghostCap: max(entries*9/10, 1), smallShare: 0.1}
	c.small, c.main = c.d.sentinel(), c.d.sentinel()
	return c
}

func (c *s3fifoIdeal) get(key uint64) (bool, error) {
	i, ok := c.index[key]
	if ok && c.d.nodes[i].freq < 3 {
		c.d.nodes[i].freq++
	}
	return ok, nil
}

func (c *s3fifoIdeal) put(key uint64, weight, _ int) error {
	w := int64(weight)
	if w > c.capacity {
		return nil
	}
	for c.smallW+c.mainW+w > c.capacity {
		c.evict()
	}
	if _, ok := c.ghost[key]; ok {
		delete(c.ghost, key)
		i := c.d.alloc(key, w, inMain)
		c.d.pushHead(c.main, i)
		c.mainW += w
		c.index[key] = i
	} else {
		i := c.d.alloc(key, w, inSmall)
		c.d.pushHead(c.small, i)
		c.smallW += w
		c.index[key] = i
	}
	c.entries++
	return nil
}

func (c *s3fifoIdeal) evict() {
	if c.smallW > int64(c.smallShare*float64(c.capacity)) || c.mainW == 0 {
		for c.smallW > 0 {
			t := c.d.tail(c.small)
			n := &c.d.nodes[t]
			c.d.unlink(t)
			c.smallW -= n.weight
			if n.freq >= 1 {
				n.freq, n.list = 0, inMain
				c.d.pushHead(c.main, t)
				c.mainW += n.weight
				continue
			}
			c.addGhost(n.key)
			c.drop(t)
			return
		}
	}
	for c.mainW > 0 {
		t := c.d.tail(c.main)
		n := &c.d.nodes[t]
		c.d.unlink(t)
		if n.freq > 0 {
			n.freq--
			c.d.pushHead(c.main, t)
			continue
		}
		c.mainW -= n.weight
		c.drop(t)
		return
	}
}

func (c *s3fifoIdeal) drop(i int32) {
	delete(c.index, c.d.nodes[i].key)
	c.d.free = append(c.d.free, i)
	c.entries--
}

// addGhost appends key to the ghost FIFO; entries past ghostCap fall out
// (a queue of insertion numbers tells a stale queue slot from a live one).
func (c *s3fifoIdeal) addGhost(key uint64) {
	c.ghostN++
	c.ghost[key] = c.ghostN
	c.ghostQ = append(c.ghostQ, key)
	for len(c.ghostQ)-c.ghostHead > c.ghostCap {
		k := c.ghostQ[c.ghostHead]
		c.ghostHead++
		if n, ok := c.ghost[k]; ok && n <= c.ghostN-uint64(c.ghostCap) {
			delete(c.ghost, k)
		}
	}
	if c.ghostHead > 1<<16 && c.ghostHead > len(c.ghostQ)/2 {
		c.ghostQ = append(c.ghostQ[:0], c.ghostQ[c.ghostHead:]...)
		c.ghostHead = 0
	}
}

func (c *s3fifoIdeal) held() (int, int64) { return c.entries, c.smallW + c.mainW }

func (c *s3fifoIdeal) close() error { return nil }

// sieveIdeal is SIEVE (NSDI '24): one FIFO list, new entries at the head, a
// visited bit set by hits, and a hand that walks from the tail toward the
// head, clearing visited bits and evicting the first unvisited entry, which
// it removes from the middle of the list.
type sieveIdeal struct {
	d        dlist
	q        int32
	hand     int32 // the sentinel when at the tail's end
	index    map[uint64]int32
	capacity int64
	used     int64
}

func newSieveIdeal(capacity int64) *sieveIdeal {
	c := &sieveIdeal{index: map[uint64]int32{}, capacity: capacity}
	c.q = c.d.sentinel()
	c.hand = c.q
	return c
}

func (c *sieveIdeal) get(key uint64) (bool, error) {
	i, ok := c.index[key]
	if ok {
		c.d.nodes[i].freq = 1
	}
	return ok, nil
}

func (c *sieveIdeal) put(key uint64, weight, _ int) error {
	w := int64(weight)
	if w > c.capacity {
		return nil
	}
	for c.used+w > c.capacity {
		h := c.hand
		if h == c.q {
			h = c.d.tail(c.q)
		}
		for c.d.nodes[h].freq != 0 {
			c.d.nodes[h].freq = 0
			h = c.d.nodes[h].prev
			if h == c.q {
				h = c.d.tail(c.q)
			}
		}
		c.hand = c.d.nodes[h].prev
		c.d.unlink(h)
		c.used -= c.d.nodes[h].weight
		delete(c.index, c.d.nodes[h].key)
		c.d.free = append(c.d.free, h)
	}
	i := c.d.alloc(key, w, 0)
	c.d.pushHead(c.q, i)
	c.index[key] = i
	c.used += w
	return nil
}

func (c *sieveIdeal) held() (int, int64) { return len(c.index), c.used }

func (c *sieveIdeal) close() error { return nil }
