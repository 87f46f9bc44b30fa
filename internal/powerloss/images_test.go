package powerloss

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

func page(c byte) []byte { return bytes.Repeat([]byte{c}, PageSize) }

// file builds content from one byte per page ('0' for zeros).
func file(pages string) []byte {
	var b []byte
	for _, c := range []byte(pages) {
		if c == '0' {
			b = append(b, make([]byte, PageSize)...)
		} else {
			b = append(b, page(c)...)
		}
	}
	return b
}

// describe renders an image as one byte per page, the reverse of file; a
// torn page shows as '~'.
func describe(im Image) string {
	if im.Missing {
		return "missing"
	}
	content := im.Content()
	var sb strings.Builder
	for off := 0; off < len(content); off += PageSize {
		p := content[off:min(off+PageSize, len(content))]
		switch {
		case isZero(p):
			sb.WriteByte('0')
		case bytes.Count(p, p[:1]) == len(p):
			sb.WriteByte(p[0])
		default:
			sb.WriteByte('~')
		}
	}
	return sb.String()
}

func kinds(ims []Image) map[string]string {
	out := map[string]string{}
	for _, im := range ims {
		out[im.Kind] = describe(im)
	}
	return out
}

// A hand-made trace: a named, durable file; a sync; two pages change; a
// growth; another change.
func handTrace() *Trace {
	tr := newTrace("/x/f")
	const ino = 7
	k := tr.addCall(Call{Name: "start", On: OnAll})
	tr.observeBinding(k, ino)
	tr.observeContent(k, ino, file("hab"))
	tr.syncAll(k)
	k = tr.addCall(Call{Name: "fdatasync", On: OnFile, Ino: ino}) // 1
	tr.observeBinding(k, ino)
	tr.observeContent(k, ino, file("hcd"))
	tr.syncFile(k, ino)
	k = tr.addCall(Call{Name: "ftruncate", On: OnFile, Ino: ino, Len: 4 * PageSize}) // 2
	tr.observeContent(k, ino, file("Hce"))
	k = tr.addCall(Call{Name: "fdatasync", On: OnFile, Ino: ino}) // 3
	tr.observeContent(k, ino, file("Ifef"))
	tr.syncFile(k, ino)
	k = tr.addCall(Call{Name: "exit", On: OnNothing}) // 4
	tr.observeContent(k, ino, file("Ifef"))
	return tr
}

func TestImagesOfAGap(t *testing.T) {
	tr := handTrace()
	// Gap 1: durable is "hcd" (the fdatasync at 1); the entry of call 2 has
	// H and e.
	got := kinds(tr.Images(1, Options{}))
	want := map[string]string{
		"all-old":            "hcd",
		"all-new":            "Hce",
		"page 0 new":         "Hcd",
		"page 2 new":         "hce",
		"all new but page 0": "hce",
		"all new but page 2": "Hcd",
	}
	for kind, w := range want {
		if g, ok := got[kind]; ok && g != w {
			t.Errorf("gap 1 %q is %s, want %s", kind, g, w)
		}
	}
	// Each distinct content appears once, under the first kind that made it.
	contents := map[string]bool{}
	for _, d := range got {
		if contents[d] {
			t.Errorf("gap 1: %s appears twice: %v", d, got)
		}
		contents[d] = true
	}
	for _, d := range []string{"hcd", "Hce", "Hcd", "hce"} {
		if !contents[d] {
			t.Errorf("gap 1 lacks %s: %v", d, got)
		}
	}
}

func TestImagesAcrossAGrowth(t *testing.T) {
	tr := handTrace()
	// Gap 2: between the ftruncate (entry: "Hce", 3 pages) and the next
	// fdatasync (entry: "Ifef", 4 pages). The last completed sync is call 1:
	// "hcd" with 3 pages, so pages 0 and 2 may also be at that version, and
	// the length is 3 or 4 pages.
	ims := tr.Images(2, Options{Random: 200, Torn: 3, Rand: rand.New(rand.NewPCG(1, 2))})
	allowed := []string{"hHI", "cf", "def", "0f"}
	var sawDurable, sawShort, sawLong, sawTorn bool
	for _, im := range ims {
		d := describe(im)
		if len(d) != 3 && len(d) != 4 {
			t.Errorf("%q: %d pages, want 3 or 4", im.Kind, len(d))
			continue
		}
		for p := range len(d) {
			if d[p] != '~' && !strings.ContainsRune(allowed[p], rune(d[p])) {
				t.Errorf("%q: page %d is %c, allowed %s", im.Kind, p, d[p], allowed[p])
			}
		}
		sawDurable = sawDurable || d == "hcd"
		sawShort = sawShort || (len(d) == 3 && d[0] == 'I')
		sawLong = sawLong || (len(d) == 4 && d[0] == 'H')
		sawTorn = sawTorn || strings.Contains(d, "~")
	}
	if !sawDurable || !sawShort || !sawLong || !sawTorn {
		t.Errorf("gap 2: durable %v, new page with old length %v, old page with new length %v, torn %v: %v",
			sawDurable, sawShort, sawLong, sawTorn, kinds(ims))
	}
}

func TestTornPageKeepsSectors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	old, new := page('o'), page('n')
	for range 100 {
		torn, _ := tear(r, old, new)
		newSectors := 0
		for s := 0; s < PageSize; s += SectorSize {
			sec := torn[s : s+SectorSize]
			switch {
			case bytes.Equal(sec, new[:SectorSize]):
				newSectors++
			case !bytes.Equal(sec, old[:SectorSize]):
				t.Fatalf("sector at %d is neither old nor new", s)
			}
		}
		if newSectors == 0 || newSectors == PageSize/SectorSize {
			t.Fatalf("a torn page with %d new sectors is not torn", newSectors)
		}
	}
}

func TestMissingNameUntilDirectorySync(t *testing.T) {
	tr := newTrace("/x/f")
	tr.addCall(Call{Name: "start", On: OnAll})
	tr.syncAll(0)
	k := tr.addCall(Call{Name: "fsync", On: OnFile, Ino: 9}) // 1
	tr.observeBinding(k, 9)
	tr.observeContent(k, 9, file("a"))
	tr.syncFile(k, 9)
	k = tr.addCall(Call{Name: "fsync", On: OnDir}) // 2
	tr.syncName(k)
	tr.addCall(Call{Name: "exit", On: OnNothing})                       // 3
	for gap, want := range []string{"missing,,a,0", "missing,a", "a"} { // "" is the empty file, "0" a page of zeros
		var got []string
		for _, im := range tr.Images(gap, Options{}) {
			got = append(got, describe(im))
		}
		if strings.Join(got, ",") != want {
			t.Errorf("gap %d: %v, want %s", gap, got, want)
		}
	}
}

func TestImageFileRoundTrip(t *testing.T) {
	tr := handTrace()
	path := t.TempDir() + "/img"
	for _, im := range tr.Images(2, Options{Random: 5, Torn: 2}) {
		if err := im.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, im.Content()) {
			t.Fatalf("%q: the file differs from the image", im.Kind)
		}
	}
}
