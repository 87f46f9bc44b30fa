package powerloss

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// An Image is one file a power loss in a gap may leave at the watched path.
type Image struct {
	Gap int
	// Kind says how the image was chosen: "all-old" (the file at the entry of
	// the gap's first call), "all-new" (at the entry of its second call),
	// "durable" (only what completed syncs made durable), "page 5 new",
	// "all new but page 5", "page 5 torn (sectors 0,3 new)", "all-old, length
	// 65536", "random (...)" or "missing (the directory entry is not durable)".
	Kind    string
	Missing bool  // no file at the path
	Size    int64 // the file's length
	// Pages lists the pages chosen, nil for a page of zeros: the file is
	// Pages[i] at offset i*PageSize, cut at Size. Callers must not modify them.
	Pages [][]byte
	Hash  uint64 // of Missing, Size and the content
}

// Options shape the images of a gap.
type Options struct {
	Random int        // random combinations per gap
	Torn   int        // changed pages torn, each in one image
	Rand   *rand.Rand // the source of every random choice; nil means a fixed seed
}

// Images returns the distinct images of a power loss in gap (0 <= gap <
// Gaps()): the durable state, the file at the entry of each of the gap's two
// calls, each page that changed between them alone and left out, torn pages,
// the other possible lengths, and o.Random random combinations of the
// versions each page may hold.
func (tr *Trace) Images(gap int, o Options) []Image {
	if gap < 0 || gap >= tr.Gaps() {
		return nil
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(uint64(gap), 0x706f7765726c6f73))
	}
	g := &gapImages{gap: gap, seen: map[uint64]bool{}}
	var inos []uint64
	dn := tr.nameDurable(gap)
	inos = append(inos, tr.bindingAt(dn))
	for _, b := range tr.bindings {
		if b.at > dn && b.at <= gap+1 && !slices.Contains(inos, b.ino) {
			inos = append(inos, b.ino)
		}
	}
	for _, ino := range inos {
		if ino == 0 {
			g.add(Image{Kind: "missing (the directory entry is not durable)", Missing: true})
			continue
		}
		tr.inodeImages(g, tr.inodes[ino], o)
	}
	return g.out
}

type gapImages struct {
	gap  int
	seen map[uint64]bool
	out  []Image
}

func (g *gapImages) add(im Image) {
	im.Gap = g.gap
	im.Hash = hashImage(im)
	if g.seen[im.Hash] {
		return
	}
	g.seen[im.Hash] = true
	g.out = append(g.out, im)
}

func hashImage(im Image) uint64 {
	var d xxhash.Digest
	var b [9]byte
	if im.Missing {
		b[8] = 1
	}
	binary.LittleEndian.PutUint64(b[:], uint64(im.Size))
	d.Write(b[:])
	for p, data := range im.Pages {
		n := min(int64(PageSize), im.Size-int64(p)*PageSize)
		if n <= 0 {
			break
		}
		if data == nil || isZero(data[:n]) {
			d.Write(zeroPage[:n])
		} else {
			d.Write(data[:n])
		}
	}
	return d.Sum64()
}

// inodeImages adds the images of one inode bound to the name.
func (tr *Trace) inodeImages(g *gapImages, h *history, o Options) {
	n, m := g.gap, g.gap+1
	if h == nil {
		h = &history{}
	}
	sizes := tr.sizeVersions(h, n)
	entrySize, newSize, durSize := h.sizeAt(n), h.sizeAt(m), sizes[0]
	var most int64
	for _, s := range sizes {
		most = max(most, s)
	}
	np := int((most + PageSize - 1) / PageSize)
	entry, news, dur := make([][]byte, np), make([][]byte, np), make([][]byte, np)
	cands := make([][][]byte, np)
	var changed, multi []int
	for p := range np {
		entry[p], news[p] = h.pageAt(p, n), h.pageAt(p, m)
		cands[p] = tr.pageVersions(h, p, n)
		dur[p] = cands[p][0]
		if !samePage(entry[p], news[p]) {
			changed = append(changed, p)
		}
		if len(cands[p]) > 1 {
			multi = append(multi, p)
		}
	}
	img := func(kind string, size int64, pages [][]byte) {
		cut := int((size + PageSize - 1) / PageSize)
		g.add(Image{Kind: kind, Size: size, Pages: pages[:min(cut, len(pages))]})
	}
	// A page past the entry length is only there with the new length.
	sizeFor := func(p int) int64 {
		if int64(p+1)*PageSize > entrySize {
			return max(newSize, entrySize)
		}
		return entrySize
	}
	img("all-old", entrySize, entry)
	img("all-new", newSize, news)
	img("durable", durSize, dur)
	for _, p := range changed {
		img(fmt.Sprintf("page %d new", p), sizeFor(p), with(entry, p, news[p]))
	}
	if len(changed) > 1 {
		for _, p := range changed {
			img(fmt.Sprintf("all new but page %d", p), newSize, with(news, p, entry[p]))
		}
	}
	for _, s := range sizes {
		img(fmt.Sprintf("all-old, length %d", s), s, entry)
		img(fmt.Sprintf("all-new, length %d", s), s, news)
	}
	for _, i := range o.Rand.Perm(len(changed))[:min(o.Torn, len(changed))] {
		p := changed[i]
		torn, sectors := tear(o.Rand, entry[p], news[p])
		img(fmt.Sprintf("page %d torn (sectors %s new)", p, sectors), sizeFor(p), with(entry, p, torn))
	}
	for range o.Random {
		pages := slices.Clone(entry)
		var notes []string
		for _, p := range multi {
			c := cands[p][o.Rand.IntN(len(cands[p]))]
			if o.Rand.IntN(8) == 0 {
				other := cands[p][o.Rand.IntN(len(cands[p]))]
				var sectors string
				c, sectors = tear(o.Rand, c, other)
				notes = append(notes, fmt.Sprintf("%d torn(%s)", p, sectors))
			} else if !samePage(c, entry[p]) {
				notes = append(notes, fmt.Sprintf("%d %s", p, versionName(c, news[p], dur[p])))
			}
			pages[p] = c
		}
		size := sizes[o.Rand.IntN(len(sizes))]
		img(fmt.Sprintf("random (length %d; pages %s)", size, strings.Join(notes, ", ")), size, pages)
	}
}

func versionName(c, news, dur []byte) string {
	switch {
	case samePage(c, news):
		return "new"
	case samePage(c, dur):
		return "durable"
	}
	return "older"
}

func with(pages [][]byte, p int, data []byte) [][]byte {
	out := slices.Clone(pages)
	out[p] = data
	return out
}

// tear returns a page made of old with some of its sectors taken from new
// (never none, never all of them when there is a choice), and which.
func tear(r *rand.Rand, old, new []byte) ([]byte, string) {
	const n = PageSize / SectorSize
	mask := r.Uint32() & (1<<n - 1)
	if mask == 0 || mask == 1<<n-1 {
		mask = 1<<(1+r.IntN(n-1)) - 1 // a prefix, torn at a sector boundary
	}
	out := make([]byte, PageSize)
	var list []string
	for s := range n {
		src := old
		if mask&(1<<s) != 0 {
			src = new
			list = append(list, fmt.Sprint(s))
		}
		if src != nil {
			copy(out[s*SectorSize:(s+1)*SectorSize], src[s*SectorSize:])
		}
	}
	return out, strings.Join(list, ",")
}

// GapsAround returns, ascending, the gaps on both sides of every call for
// which keep returns true: call i ends gap i-1 and starts gap i.
func (tr *Trace) GapsAround(keep func(Call) bool) []int {
	set := map[int]bool{}
	for i, c := range tr.Calls {
		if keep(c) {
			for _, g := range []int{i - 1, i} {
				if g >= 0 && g < tr.Gaps() {
					set[g] = true
				}
			}
		}
	}
	out := make([]int, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	sort.Ints(out)
	return out
}
