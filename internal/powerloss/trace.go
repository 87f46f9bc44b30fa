package powerloss

import (
	"bytes"
	"fmt"
	"sort"
)

// PageSize is the unit a power loss writes back or loses; SectorSize the unit
// a torn page is torn at.
const (
	PageSize   = 4096
	SectorSize = 512
)

// Target says what a held call acted on.
type Target uint8

const (
	// OnFile is the watched file: the inode its name was bound to when the
	// call entered.
	OnFile Target = iota + 1
	// OnOther is another regular file in the watched file's directory, such
	// as one built under a temporary name to be linked into place.
	OnOther
	// OnDir is the watched file's directory.
	OnDir
	// OnAll is every file: sync, syncfs, and the pseudo-call "start".
	OnAll
	// OnNothing is the pseudo-call "exit".
	OnNothing
)

func (t Target) String() string {
	switch t {
	case OnFile:
		return "file"
	case OnOther:
		return "other file"
	case OnDir:
		return "dir"
	case OnAll:
		return "all"
	case OnNothing:
		return "none"
	}
	return fmt.Sprintf("Target(%d)", uint8(t))
}

// A Call is one system call the writer was held at. Calls[0] of a Trace is
// the pseudo-call "start" (the state before the writer ran, durable by
// assumption) and the last one the pseudo-call "exit" (the state after the
// writer exited).
type Call struct {
	Name string
	On   Target
	Ino  uint64 // the inode acted on; 0 for OnAll and OnNothing
	// Off and Len are the byte range of msync, sync_file_range and fallocate,
	// and Len the new length of ftruncate.
	Off, Len int64
	Flags    uint64 // msync's flags, fallocate's mode
	Size     int64  // the watched file's length at entry; -1 if its name was missing
	TID      int    // the thread that made the call

	fd int // the descriptor it was made on, for reading the file it names
}

func (c Call) String() string {
	switch c.Name {
	case "ftruncate":
		return fmt.Sprintf("ftruncate(%s, %d)", c.On, c.Len)
	case "fallocate", "msync", "sync_file_range":
		return fmt.Sprintf("%s(%s, %d+%d)", c.Name, c.On, c.Off, c.Len)
	case "start", "exit", "sync":
		return c.Name
	}
	return fmt.Sprintf("%s(%s)", c.Name, c.On)
}

// A Line is one line the writer wrote to its acknowledgement pipe.
type Line struct {
	Text string
	// Before is the index of the first call that entered after the line was
	// drained: the line was written before Calls[Before] entered.
	Before int
}

// A Trace is what Record saw: the held calls, the acknowledgements and the
// watched file's content at the entry of every call.
type Trace struct {
	Path    string
	Calls   []Call
	Lines   []Line
	Ignored int // trapped calls on unrelated files, let through unrecorded

	bindings  []binding // the inode the watched name was bound to, on change
	nameSyncs []int     // calls at whose entry the binding became durable
	allSyncs  []int     // calls at whose entry everything became durable
	inodes    map[uint64]*history
}

type binding struct {
	at  int
	ino uint64 // 0: the name was missing
}

// history is one inode's content as seen at the held calls.
type history struct {
	pages  [][]version // per page, one entry per change
	sizes  []sizeVersion
	full   []int // calls at whose entry content and length became durable
	ranges []rangeSync
}

type version struct {
	at   int
	data []byte // PageSize bytes; nil for a page of zeros
}

type sizeVersion struct {
	at   int
	size int64
}

type rangeSync struct {
	at          int
	first, last int // pages
}

func newTrace(path string) *Trace {
	return &Trace{Path: path, inodes: map[uint64]*history{}}
}

// Gaps returns the number of gaps: gap n lies between the entry of Calls[n]
// and the entry of Calls[n+1].
func (tr *Trace) Gaps() int { return max(len(tr.Calls)-1, 0) }

// Acked returns the lines written before the entry of call, in order.
func (tr *Trace) Acked(call int) []Line {
	i := sort.Search(len(tr.Lines), func(i int) bool { return tr.Lines[i].Before > call })
	return tr.Lines[:i]
}

// addCall records c and returns its index.
func (tr *Trace) addCall(c Call) int {
	tr.Calls = append(tr.Calls, c)
	return len(tr.Calls) - 1
}

func (tr *Trace) addLine(text string) {
	tr.Lines = append(tr.Lines, Line{Text: text, Before: len(tr.Calls)})
}

func (tr *Trace) observeBinding(at int, ino uint64) {
	if n := len(tr.bindings); n > 0 && tr.bindings[n-1].ino == ino {
		return
	}
	tr.bindings = append(tr.bindings, binding{at, ino})
}

func (tr *Trace) inode(ino uint64) *history {
	h := tr.inodes[ino]
	if h == nil {
		h = &history{}
		tr.inodes[ino] = h
	}
	return h
}

// observeContent records the content of inode ino at the entry of call at.
// content is not retained; pages that changed are copied.
func (tr *Trace) observeContent(at int, ino uint64, content []byte) {
	h := tr.inode(ino)
	size := int64(len(content))
	if n := len(h.sizes); n == 0 || h.sizes[n-1].size != size {
		h.sizes = append(h.sizes, sizeVersion{at, size})
	}
	npages := int((size + PageSize - 1) / PageSize)
	for len(h.pages) < npages {
		h.pages = append(h.pages, nil)
	}
	for p := range h.pages {
		var cur []byte
		if p < npages {
			cur = content[p*PageSize : min(int64(p+1)*PageSize, size)]
		}
		last := lastData(h.pages[p])
		if samePage(last, cur) {
			continue
		}
		var data []byte
		if !isZero(cur) {
			data = make([]byte, PageSize)
			copy(data, cur)
		}
		h.pages[p] = append(h.pages[p], version{at, data})
	}
}

func (tr *Trace) syncFile(at int, ino uint64) { h := tr.inode(ino); h.full = append(h.full, at) }

func (tr *Trace) syncRange(at int, ino uint64, off, n int64) {
	if n <= 0 || off < 0 {
		return
	}
	h := tr.inode(ino)
	h.ranges = append(h.ranges, rangeSync{at, int(off / PageSize), int((off + n - 1) / PageSize)})
}

func (tr *Trace) syncName(at int) { tr.nameSyncs = append(tr.nameSyncs, at) }
func (tr *Trace) syncAll(at int)  { tr.allSyncs = append(tr.allSyncs, at) }

// bindingAt returns the inode the name was bound to at the entry of call k.
func (tr *Trace) bindingAt(k int) uint64 {
	i := sort.Search(len(tr.bindings), func(i int) bool { return tr.bindings[i].at > k })
	if i == 0 {
		return 0
	}
	return tr.bindings[i-1].ino
}

// lastAtOrBefore returns the largest element of the ascending list that is
// at most k, or -1.
func lastAtOrBefore(list []int, k int) int {
	i := sort.SearchInts(list, k+1)
	if i == 0 {
		return -1
	}
	return list[i-1]
}

// nameDurable returns the call as of whose entry the name's binding is
// durable for a power loss in gap n.
func (tr *Trace) nameDurable(n int) int {
	return max(lastAtOrBefore(tr.nameSyncs, n), lastAtOrBefore(tr.allSyncs, n), 0)
}

func (h *history) pageAt(p, k int) []byte {
	if p >= len(h.pages) {
		return nil
	}
	vs := h.pages[p]
	i := sort.Search(len(vs), func(i int) bool { return vs[i].at > k })
	if i == 0 {
		return nil
	}
	return vs[i-1].data
}

func (h *history) sizeAt(k int) int64 {
	i := sort.Search(len(h.sizes), func(i int) bool { return h.sizes[i].at > k })
	if i == 0 {
		return 0
	}
	return h.sizes[i-1].size
}

// sizeDurable returns the call as of whose entry the length is durable for a
// power loss in gap n (0, the start, if none was).
func (tr *Trace) sizeDurable(h *history, n int) int {
	return max(lastAtOrBefore(h.full, n), lastAtOrBefore(tr.allSyncs, n), 0)
}

// pageDurable is sizeDurable for page p, which msync may also make durable.
func (tr *Trace) pageDurable(h *history, p, n int) int {
	d := tr.sizeDurable(h, n)
	for _, r := range h.ranges {
		if r.at <= n && r.at > d && p >= r.first && p <= r.last {
			d = r.at
		}
	}
	return d
}

// pageVersions returns the distinct versions page p may hold after a power
// loss in gap n: the durable one first, then every later one up to the entry
// of call n+1.
func (tr *Trace) pageVersions(h *history, p, n int) [][]byte {
	d := tr.pageDurable(h, p, n)
	out := [][]byte{h.pageAt(p, d)}
	if p < len(h.pages) {
		for _, v := range h.pages[p] {
			if v.at > d && v.at <= n+1 && !containsPage(out, v.data) {
				out = append(out, v.data)
			}
		}
	}
	return out
}

// sizeVersions is pageVersions for the length.
func (tr *Trace) sizeVersions(h *history, n int) []int64 {
	d := tr.sizeDurable(h, n)
	out := []int64{h.sizeAt(d)}
	for _, v := range h.sizes {
		if v.at > d && v.at <= n+1 && !containsSize(out, v.size) {
			out = append(out, v.size)
		}
	}
	return out
}

func lastData(vs []version) []byte {
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1].data
}

// samePage compares two pages, a nil or short page reading as zeros.
func samePage(a, b []byte) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return bytes.Equal(a, b[:len(a)]) && isZero(b[len(a):])
}

var zeroPage [PageSize]byte

func isZero(b []byte) bool {
	for len(b) > PageSize {
		if !isZero(b[:PageSize]) {
			return false
		}
		b = b[PageSize:]
	}
	return bytes.Equal(b, zeroPage[:len(b)])
}

func containsPage(list [][]byte, p []byte) bool {
	for _, q := range list {
		if samePage(q, p) {
			return true
		}
	}
	return false
}

func containsSize(list []int64, s int64) bool {
	for _, q := range list {
		if q == s {
			return true
		}
	}
	return false
}
