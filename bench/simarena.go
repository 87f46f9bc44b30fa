package main

import (
	"math/bits"
	"slices"
)

// simArena models the record space of a cache file, so that the simulated
// policies (simpolicy.go) see records in the order the file has them: in
// address order, which is where the allocator put them, not the order they
// were inserted in. It mirrors kv's allocator (kv/alloc.go): pages of 4 KiB;
// a record of up to 2016 bytes is an object in a slab page of its size class,
// a larger one a chain of whole pages; a class keeps a list of its pages with
// free objects, and a page that goes from full to non-full, or a new page,
// goes to the front of that list; an allocation takes the front page's lowest
// free object; an empty slab page and a freed chain go to the front of the
// free-page list (LIFO), and fresh pages come from the high-water mark.
//
// The consequence that matters for policies: the object an eviction frees is
// the first one the next record of its class gets, so in a file of one size
// class a new record lands right behind an address-order hand, as a new
// entry lands behind a CLOCK hand.

// The size classes and page geometry of kv/page.go.
var simClasses = []int{
	16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128,
	144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 448, 504,
	576, 672, 800, 1008, 1152, 1344, 1600, 2016,
}

const (
	simPageSize   = 4096
	simSlabSpace  = simPageSize - 64 // after the slab header
	simChainSpace = simPageSize - 16 // after the chain header
	simRecHeader  = 12
	simMaxSlab    = 2016
)

func simClassFor(size int) int {
	i, _ := slices.BinarySearch(simClasses, size)
	return i
}

func simPerPage(class int) int { return simSlabSpace / simClasses[class] }

// simRecordSize is the record of a key and value as kv lays it out (no TTL).
func simRecordSize(payload int) int { return simRecHeader + payload }

// simAllocSize is the space a record of size bytes takes.
func simAllocSize(size int) int {
	if size > simMaxSlab {
		return (size + simChainSpace - 1) / simChainSpace * simPageSize
	}
	return simClasses[simClassFor(size)]
}

const (
	pageFresh = iota // above the high-water mark
	pageFree
	pageSlab
	pageChain     // first page of a chain: the record's address
	pageChainTail // another page of a chain
)

type simPage struct {
	kind       uint8
	class      uint8
	used       uint16
	next, prev int32     // class list (slab) or free list (next)
	bitmap     [4]uint64 // slab: used objects
	objs       []int32   // slab: entry per object; chain: objs[0] is the entry, objs[1:] its other pages
}

type simArena struct {
	pages     []simPage
	hw        int32 // pages below are in use or free
	freeHead  int32 // -1: none
	nfree     int
	classHead [37]int32 // one per size class
	liveBytes int64     // allocated record space
}

func newSimArena(npages int) *simArena {
	a := &simArena{pages: make([]simPage, npages), freeHead: -1}
	for i := range a.classHead {
		a.classHead[i] = -1
	}
	return a
}

// spareSlabPage reports whether a page is to be had without evicting.
func (a *simArena) spareSlabPage() bool { return a.nfree > 0 || int(a.hw) < len(a.pages) }

// canAlloc reports whether a record of size bytes fits without evicting.
func (a *simArena) canAlloc(size int) bool {
	if size > simMaxSlab {
		n := (size + simChainSpace - 1) / simChainSpace
		return a.nfree+len(a.pages)-int(a.hw) >= n
	}
	return a.classHead[simClassFor(size)] >= 0 || a.spareSlabPage()
}

func (a *simArena) takePage() int32 {
	if a.freeHead >= 0 {
		p := a.freeHead
		a.freeHead = a.pages[p].next
		a.nfree--
		return p
	}
	p := a.hw
	a.hw++
	return p
}

func (a *simArena) freePage(p int32) {
	pg := &a.pages[p]
	pg.kind = pageFree
	pg.next = a.freeHead
	a.freeHead = p
	a.nfree++
}

// alloc places entry e's record of size bytes; the caller checked canAlloc.
// It returns the page and the object index (-1 for a chain).
func (a *simArena) alloc(size int, e int32) (int32, int16) {
	if size > simMaxSlab {
		n := (size + simChainSpace - 1) / simChainSpace
		first := a.takePage()
		objs := make([]int32, 1, n)
		objs[0] = e
		for i := 1; i < n; i++ {
			p := a.takePage()
			a.pages[p] = simPage{kind: pageChainTail, next: -1}
			objs = append(objs, p)
		}
		a.pages[first] = simPage{kind: pageChain, objs: objs, next: -1}
		a.liveBytes += int64(n) * simPageSize
		return first, -1
	}
	c := simClassFor(size)
	p := a.classHead[c]
	if p < 0 {
		p = a.takePage()
		per := simPerPage(c)
		objs := a.pages[p].objs
		if cap(objs) >= per {
			objs = objs[:per]
		} else {
			objs = make([]int32, per)
		}
		a.pages[p] = simPage{kind: pageSlab, class: uint8(c), next: -1, prev: -1, objs: objs}
		a.classHead[c] = p
	}
	pg := &a.pages[p]
	per := simPerPage(c)
	idx := -1
	for w := 0; w*64 < per; w++ {
		free := ^pg.bitmap[w]
		if rest := per - w*64; rest < 64 {
			free &= 1<<rest - 1
		}
		if free != 0 {
			idx = w*64 + bits.TrailingZeros64(free)
			break
		}
	}
	pg.bitmap[idx/64] |= 1 << (idx % 64)
	pg.objs[idx] = e
	pg.used++
	if int(pg.used) == per { // full: off its list
		a.classHead[c] = pg.next
		if pg.next >= 0 {
			a.pages[pg.next].prev = -1
		}
		pg.next = -1
	}
	a.liveBytes += int64(simClasses[c])
	return p, int16(idx)
}

// release frees the record at (p, idx).
func (a *simArena) release(p int32, idx int16) {
	pg := &a.pages[p]
	if pg.kind == pageChain {
		a.liveBytes -= int64(len(pg.objs)) * simPageSize
		for _, q := range pg.objs[1:] {
			a.freePage(q)
		}
		pg.objs = pg.objs[:0]
		a.freePage(p)
		return
	}
	c := int(pg.class)
	per := simPerPage(c)
	pg.bitmap[idx/64] &^= 1 << (idx % 64)
	pg.objs[idx] = -1
	a.liveBytes -= int64(simClasses[c])
	switch {
	case pg.used == 1: // empty: off its list, to the free pages
		if per > 1 {
			if pg.prev >= 0 {
				a.pages[pg.prev].next = pg.next
			} else {
				a.classHead[c] = pg.next
			}
			if pg.next >= 0 {
				a.pages[pg.next].prev = pg.prev
			}
		}
		pg.used = 0
		pg.bitmap = [4]uint64{}
		a.freePage(p)
	case int(pg.used) == per: // was full: to the front of its list
		pg.used--
		pg.prev = -1
		pg.next = a.classHead[c]
		if pg.next >= 0 {
			a.pages[pg.next].prev = p
		}
		a.classHead[c] = p
	default:
		pg.used--
	}
}

// entriesOn appends the entries whose records start on page p.
func (a *simArena) entriesOn(p int32, dst []int32) []int32 {
	pg := &a.pages[p]
	switch pg.kind {
	case pageChain:
		dst = append(dst, pg.objs[0])
	case pageSlab:
		for w, bm := range pg.bitmap {
			for bm != 0 {
				b := bits.TrailingZeros64(bm)
				bm &= bm - 1
				dst = append(dst, pg.objs[w*64+b])
			}
		}
	}
	return dst
}

// simHand is a cursor over record memory in address order: pages in page
// order, objects in index order, wrapping at the high-water mark. It is what
// a hand stored in a header word as (page, object) would visit.
type simHand struct {
	page int32
	obj  int // next object index on page
}

// next returns the next live record at or after the hand and moves the hand
// past it, or -1 if the arena holds no record. It visits at most one lap.
func (h *simHand) next(a *simArena) int32 {
	for range 2*a.hw + 2 {
		if h.page >= a.hw {
			h.page, h.obj = 0, 0
		}
		pg := &a.pages[h.page]
		switch pg.kind {
		case pageChain:
			if h.obj == 0 {
				h.obj = 1
				return pg.objs[0]
			}
		case pageSlab:
			per := simPerPage(int(pg.class))
			for w := h.obj / 64; w*64 < per; w++ {
				bm := pg.bitmap[w]
				if w == h.obj/64 {
					bm &^= 1<<(h.obj%64) - 1
				}
				if bm != 0 {
					idx := w*64 + bits.TrailingZeros64(bm)
					h.obj = idx + 1
					return pg.objs[idx]
				}
			}
		}
		h.page++
		h.obj = 0
	}
	return -1
}

// nextPage moves the hand to the start of the next page and returns the
// page it was on.
func (h *simHand) nextPage(a *simArena) int32 {
	if h.page >= a.hw {
		h.page = 0
	}
	p := h.page
	h.page++
	h.obj = 0
	return p
}
