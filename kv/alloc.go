//go:build unix

package kv

import (
	"fmt"
	"math/bits"
)

// Space management (docs/format.md, "Allocation"). Pages below the high-water
// mark are in use or on the free list; pages above it are fresh. A small
// record lives in a slab page of its size class; a large one in a chain of
// whole pages. Space a transaction frees becomes reusable only after it
// commits, so a transaction never writes over bytes the committed state still
// references.

const growStep = 256 << 10 // the least a file grows by

// bumpPages takes n contiguous fresh pages from the high-water mark, growing
// the file when needed.
func (t *txn) bumpPages(n int) (uint64, error) {
	hw := t.word(hdrHighWater)
	end := hw + uint64(n)*PageSize
	if end > t.limit {
		if err := t.grow(end); err != nil {
			return 0, err
		}
	}
	t.setWord(hdrHighWater, end)
	t.tookPages += n
	return hw, nil
}

// grow makes the file at least end bytes long: by 1/32 of its size or
// growStep, whichever is more, so that growth is rare yet the file stays close
// to what it holds. It never passes MaxSize.
func (t *txn) grow(end uint64) error {
	size := max(end, t.limit+max(t.limit/32, growStep))
	size = (size + growStep - 1) / growStep * growStep
	bound := uint64(maxFileSize)
	if t.maxSize > 0 {
		bound = min(bound, t.maxSize)
	}
	if size > bound {
		size = bound
		if end > size {
			return fmt.Errorf("kv: %s needs %d bytes, past its bound of %d (MaxSize, or the format's %d): %w",
				t.db.f.path, end, bound, uint64(maxFileSize), ErrFull)
		}
	}
	f := t.db.f
	if err := f.growTo(int64(size)); err != nil {
		return fmt.Errorf("kv: %s: %w", f.path, err)
	}
	// The new length is published by this transaction's log, before any
	// word that refers to the new pages.
	t.limit = size
	t.setWord(hdrFileSize, size)
	t.addWord(hdrGrowths, 1)
	return nil
}

// allocPage takes a page from the free list, or a fresh one.
func (t *txn) allocPage() (uint64, error) {
	head := t.word(hdrFreeHead)
	if head == 0 {
		return t.bumpPages(1)
	}
	t.checkFreePage(head)
	t.setWord(hdrFreeHead, t.word(head+8))
	t.addWord(hdrFreePages, -1)
	t.tookPages++
	return head, nil
}

// freePage puts a page on the free list.
func (t *txn) freePage(p uint64) {
	t.setWord(p, kindFree)
	t.setWord(p+8, t.word(hdrFreeHead))
	t.setWord(hdrFreeHead, p)
	t.addWord(hdrFreePages, 1)
}

// checkFreePage panics with a corruption unless p can be on the free list: a
// free page, or a page of a freed record chain.
func (t *txn) checkFreePage(p uint64) {
	if k := t.word(p) & 0xff; k == kindChain {
		t.checkPage(p, kindChain)
	} else {
		t.checkPage(p, kindFree)
	}
}

// checkPage panics with a corruption unless p is an allocated page of kind k.
func (t *txn) checkPage(p uint64, k uint64) {
	if p%PageSize != 0 || p < PageSize || p >= t.word(hdrHighWater) {
		corruptf("page offset %d out of range", p)
	}
	if got := t.word(p) & 0xff; got != k {
		corruptf("page %d: kind %#x, want %#x", p/PageSize, got, k)
	}
}

// allocRecord reserves space for a record of size bytes and returns its offset.
func (t *txn) allocRecord(size int) (uint64, error) {
	if size > maxSlabRecord {
		return t.allocChain(chainPages(size))
	}
	c := classFor(size)
	head := uint64(hdrClassHeads + 8*c)
	p := t.word(head)
	if p == 0 {
		var err error
		t.needPages = max(t.needPages, t.tookPages+1)
		if p, err = t.allocPage(); err != nil {
			return 0, err
		}
		// Every header word but the generation, which only ever grows.
		t.setWord(p, kindSlab|uint64(c)<<8)
		t.setWord(p+slabNext, 0)
		t.setWord(p+slabPrev, 0)
		for w := uint64(0); w < 4; w++ {
			t.setWord(p+slabBitmap+8*w, 0)
		}
		t.setWord(head, p)
	}
	t.checkPage(p, kindSlab)
	w0 := t.word(p)
	if int(w0>>8&0xff) != c {
		corruptf("page %d: class %d on the list of class %d", p/PageSize, w0>>8&0xff, c)
	}
	per := objectsPerPage(c)
	idx := -1
	for w := 0; w*64 < per && idx < 0; w++ {
		bm := t.word(p + slabBitmap + uint64(8*w))
		free := ^bm
		if rest := per - w*64; rest < 64 {
			free &= 1<<rest - 1
		}
		if free != 0 {
			b := bits.TrailingZeros64(free)
			t.setWord(p+slabBitmap+uint64(8*w), bm|1<<b)
			idx = w*64 + b
		}
	}
	if idx < 0 {
		corruptf("page %d: full slab on the free-space list", p/PageSize)
	}
	used := w0>>16&0xffff + 1
	t.setWord(p, w0&0xffff|used<<16)
	if int(used) == per { // full: off the list
		next := t.word(p + slabNext)
		t.setWord(head, next)
		if next != 0 {
			t.setWord(next+slabPrev, 0)
		}
		t.setWord(p+slabNext, 0)
	}
	t.addWord(hdrLiveBytes, int64(sizeClasses[c]))
	return p + slabHeader + uint64(idx*sizeClasses[c]), nil
}

// allocChain links n pages into a chain; the record starts after the first
// page's link words.
func (t *txn) allocChain(n int) (uint64, error) {
	t.needPages = max(t.needPages, t.tookPages+n)
	var first, prev uint64
	for i := 0; i < n; i++ {
		p, err := t.allocPage()
		if err != nil {
			return 0, err
		}
		if prev == 0 {
			first = p
			t.setWord(p, kindChain|chainHead)
		} else {
			t.setWord(p, kindChain)
			t.setWord(prev+chainNext, p)
		}
		t.setWord(p+chainNext, 0)
		prev = p
	}
	t.addWord(hdrLiveBytes, int64(n)*PageSize)
	return first + chainHeader, nil
}

// deferFree schedules a record's space to be freed at commit.
func (t *txn) deferFree(off uint64, size int) {
	t.frees = append(t.frees, freeItem{off: off, size: size})
}

// deferFreePages schedules a run of pages (an old table) to be freed at commit.
func (t *txn) deferFreePages(off uint64, pages int) {
	t.frees = append(t.frees, freeItem{off: off, pages: pages})
}

func (t *txn) freeNow(fr freeItem) {
	switch {
	case fr.pages > 0:
		for i := 0; i < fr.pages; i++ {
			t.freePage(fr.off + uint64(i)*PageSize)
		}
	case fr.size > maxSlabRecord:
		t.freeChain(fr.off, chainPages(fr.size))
	default:
		t.freeObject(fr.off, fr.size)
	}
}

// freeChain splices a record's pages onto the free list as they are: chain
// pages link through the same word as free pages, so freeing a large record
// costs a few log entries, not two per page. That keeps a Delete small enough
// to succeed on a full file.
func (t *txn) freeChain(off uint64, n int) {
	first := off - chainHeader
	last := first
	for i := 0; i < n; i++ {
		t.checkPage(last, kindChain)
		if i < n-1 {
			last = t.word(last + chainNext)
		}
	}
	t.setWord(first, kindChain) // no longer the first page of a record
	t.setWord(last+chainNext, t.word(hdrFreeHead))
	t.setWord(hdrFreeHead, first)
	t.addWord(hdrFreePages, int64(n))
	t.addWord(hdrLiveBytes, -int64(n)*PageSize)
}

func (t *txn) freeObject(off uint64, size int) {
	p := off &^ (PageSize - 1)
	t.checkPage(p, kindSlab)
	w0 := t.word(p)
	c := int(w0 >> 8 & 0xff)
	if c >= len(sizeClasses) || c != classFor(size) {
		corruptf("page %d: class %d holds a record of %d bytes", p/PageSize, c, size)
	}
	csize := sizeClasses[c]
	rel := int(off-p) - slabHeader
	per := objectsPerPage(c)
	if rel < 0 || rel%csize != 0 || rel/csize >= per {
		corruptf("page %d offset %d: not an object of class %d", p/PageSize, off-p, csize)
	}
	idx := rel / csize
	bw := p + slabBitmap + uint64(8*(idx/64))
	bm := t.word(bw)
	if bm&(1<<(idx%64)) == 0 {
		corruptf("page %d offset %d: freeing a free object", p/PageSize, off-p)
	}
	t.setWord(bw, bm&^(1<<(idx%64)))
	used := int(w0 >> 16 & 0xffff)
	head := uint64(hdrClassHeads + 8*c)
	t.addWord(hdrLiveBytes, -int64(csize))
	switch {
	case used == 1: // empty: off its list and back to the free pages
		if used != per {
			prev, next := t.word(p+slabPrev), t.word(p+slabNext)
			if prev != 0 {
				t.setWord(prev+slabNext, next)
			} else {
				t.setWord(head, next)
			}
			if next != 0 {
				t.setWord(next+slabPrev, prev)
			}
		}
		t.freePage(p)
	case used == per: // was full: back on its list
		first := t.word(head)
		t.setWord(p, w0&0xffff|uint64(used-1)<<16)
		t.setWord(p+slabNext, first)
		t.setWord(p+slabPrev, 0)
		if first != 0 {
			t.setWord(first+slabPrev, p)
		}
		t.setWord(head, p)
	default:
		t.setWord(p, w0&0xffff|uint64(used-1)<<16)
	}
}
