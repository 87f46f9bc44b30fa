package main

// lru is an exact LRU cache of key ids with a capacity in weight units
// (entries, or payload bytes): a map into an array of nodes linked in use
// order. It is the baseline of the hit-ratio comparison.
type lru struct {
	capacity int64
	used     int64
	index    map[uint64]int32
	nodes    []lruNode // nodes[0] is the sentinel: next is the most recent
	free     []int32
}

type lruNode struct {
	key        uint64
	weight     int64
	prev, next int32
}

func newLRU(capacity int64) *lru {
	return &lru{capacity: capacity, index: map[uint64]int32{}, nodes: make([]lruNode, 1)}
}

func (c *lru) unlink(i int32) {
	n := &c.nodes[i]
	c.nodes[n.prev].next = n.next
	c.nodes[n.next].prev = n.prev
}

func (c *lru) pushFront(i int32) {
	n := &c.nodes[i]
	n.prev, n.next = 0, c.nodes[0].next
	c.nodes[n.next].prev = i
	c.nodes[0].next = i
}

func (c *lru) get(key uint64) (bool, error) {
	i, ok := c.index[key]
	if ok {
		c.unlink(i)
		c.pushFront(i)
	}
	return ok, nil
}

func (c *lru) put(key uint64, weight int) error {
	w := int64(weight)
	if w > c.capacity {
		return nil // never fits
	}
	for c.used+w > c.capacity {
		last := c.nodes[0].prev
		c.unlink(last)
		c.used -= c.nodes[last].weight
		delete(c.index, c.nodes[last].key)
		c.free = append(c.free, last)
	}
	var i int32
	if n := len(c.free); n > 0 {
		i, c.free = c.free[n-1], c.free[:n-1]
	} else {
		i = int32(len(c.nodes))
		c.nodes = append(c.nodes, lruNode{})
	}
	c.nodes[i] = lruNode{key: key, weight: w}
	c.pushFront(i)
	c.index[key] = i
	c.used += w
	return nil
}

func (c *lru) held() (int, int64) { return len(c.index), c.used }

func (c *lru) close() error { return nil }
