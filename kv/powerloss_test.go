//go:build unix

package kv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/powerloss"
	"github.com/mapkv/mapkv/internal/testproc"
)

// The power-loss simulation (docs/testing.md, "Power-loss simulation"): a
// writer child runs the workload of powerloss_workload_test.go with
// Options.Sync under internal/powerloss, which copies the file at every
// durability call and size change; every image a power loss could leave is
// then opened in a fresh checker process and must hold every acknowledged
// write and nothing half-applied.

var (
	plOpsFlag      = flag.Int("powerloss.ops", 0, "operations in TestPowerLoss's workload (0: 2500, 1400 under -race)")
	plImagesFlag   = flag.Int("powerloss.images", -1, "distinct images TestPowerLoss checks, gaps around creation, growth and rebuilds always included (-1: 1500, 450 under -race; 0: every gap)")
	plSeedFlag     = flag.Uint64("powerloss.seed", 1, "seed of the power-loss workloads and image choices")
	plRandomFlag   = flag.Int("powerloss.random", 4, "random page combinations per gap")
	plReportFlag   = flag.String("powerloss.report", "", "write every power-loss failure to this file")
	plCheckersFlag = flag.Int("powerloss.checkers", 2, "checker processes run at once")
)

func TestPowerLoss(t *testing.T) {
	ops, images := *plOpsFlag, *plImagesFlag
	if ops == 0 {
		ops = map[bool]int{false: 2500, true: 1400}[testproc.RaceEnabled]
	}
	if images < 0 {
		images = map[bool]int{false: 1500, true: 450}[testproc.RaceEnabled]
	}
	r := runPowerLoss(t, plConfig{mode: "sync", ops: ops, images: images})
	if len(r.failures) == 0 {
		t.Log(r.summary(0))
	}
	if r.growths < 2 || r.rehashes < 2 {
		t.Errorf("the workload grew the file %d times and rebuilt the table %d times, want 2 of each: raise -powerloss.ops", r.growths, r.rehashes)
	}
	if len(r.failures) > 0 {
		t.Errorf("%d of %d images fail:\n%s", len(r.failures), r.images, r.summary(4))
	}
}

// TestPowerLossFindsLossWithoutSync is a negative control: without
// Options.Sync nothing is flushed, so acknowledged writes must be lost.
func TestPowerLossFindsLossWithoutSync(t *testing.T) {
	r := runPowerLoss(t, plConfig{mode: "nosync", ops: 300, images: 150})
	t.Log(r.summary(0))
	if r.byClass["lost-ack"] == 0 {
		t.Fatalf("without Sync no image lost an acknowledged write: the simulation would not notice a missing flush")
	}
}

// TestPowerLossFindsSkippedSync is the other negative control: with Sync,
// but every flush of some ops skipped (testSkipSync), a power loss must lose
// exactly those ops' acknowledged writes.
func TestPowerLossFindsSkippedSync(t *testing.T) {
	r := runPowerLoss(t, plConfig{mode: "skip", ops: 400, images: 200})
	t.Log(r.summary(0))
	caught := map[int]bool{}
	for _, f := range r.failures {
		for _, op := range f.res.Lost {
			if plSkipped(op) {
				caught[op] = true
			}
		}
	}
	if len(caught) == 0 {
		t.Fatalf("no image lost the write of an op whose flushes were skipped (%d such ops)", r.skipped)
	}
	t.Logf("the writes of %d of the %d ops whose flushes were skipped were found lost", len(caught), r.skipped)
}

// TestPowerLossAfterSync: without Options.Sync, db.Sync makes every write
// committed before it durable: a power loss right after it returns, before
// the next write, loses none of them. The writer acknowledges its writes
// only after the Sync that follows them.
func TestPowerLossAfterSync(t *testing.T) {
	r := runPowerLoss(t, plConfig{mode: "aftersync", ops: 600, images: 0, afterSync: true})
	t.Log(r.summary(0))
	if r.images < 5 {
		t.Fatalf("only %d images after a Sync were checked", r.images)
	}
	if len(r.failures) > 0 {
		t.Errorf("%d of %d images after a Sync fail:\n%s", len(r.failures), r.images, r.summary(4))
	}
}

type plConfig struct {
	mode   string // the writer's mode: "sync", "nosync", "skip" or "aftersync"
	ops    int
	images int // distinct images to check; 0: every gap
	// afterSync tests only what db.Sync promises without Options.Sync: the
	// file as it was when a Sync's flush began, which a power loss right
	// after it returns (before any further write) leaves.
	afterSync bool
}

type plRun struct {
	cfg     plConfig
	seed    uint64
	tr      *powerloss.Trace
	w       *plWorkload
	ackedAt []int    // per op, the call before which it was acknowledged
	flags   []string // per op, the writer's flags
	opened  int      // the call before which Open had returned

	growths, rehashes, skipped int
	always, sampled            int // gaps tested
	generated, images          int // images made, distinct images checked
	failures                   []plFailure
	byClass                    map[string]int
	recordTime, checkTime      time.Duration
}

type plFailure struct {
	gap     int
	kind    string
	size    int64
	missing bool
	job     plJob
	res     plResult
}

// plJobImage is a job with the image it checks.
type plJobImage struct {
	job plJob
	im  powerloss.Image
	gap int
}

func runPowerLoss(t *testing.T, cfg plConfig) *plRun {
	dir := plTempDir(t)
	path := filepath.Join(dir, "store.kv")
	r := &plRun{cfg: cfg, seed: *plSeedFlag, w: newPLWorkload(*plSeedFlag, cfg.ops), byClass: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := powerloss.Command(t, plWriterRole, path, cfg.mode, fmt.Sprint(r.seed), fmt.Sprint(cfg.ops))
	tr, err := powerloss.Record(ctx, cmd, path)
	if errors.Is(err, powerloss.ErrUnavailable) {
		t.Skipf("power-loss simulation unavailable: %v", err)
	}
	if err != nil {
		t.Fatalf("recording the writer: %v", err)
	}
	r.recordTime = time.Since(start)
	r.tr = tr
	syncs := 0
	for _, c := range tr.Calls {
		if c.Name == "fdatasync" || c.Name == "fsync" || c.Name == "msync" {
			syncs++
		}
	}
	if (cfg.mode == "sync" || cfg.mode == "skip") && syncs < cfg.ops/2 {
		t.Fatalf("%d syncs of the store recorded for %d ops with Sync (%d other calls let through): the supervisor does not see the writer's flushes",
			syncs, cfg.ops, tr.Ignored)
	}
	if err := r.parseLines(); err != nil {
		t.Fatal(err)
	}
	jobs := r.chooseImages(path)
	start = time.Now()
	results := r.check(t, dir, jobs)
	r.checkTime = time.Since(start)
	for i, j := range jobs {
		res := results[i]
		if res.Class == "" {
			continue
		}
		if j.im.Missing && res.Class == "lost-ack" {
			// Its own class: the cause is the directory, not the file.
			res.Class = "lost-name"
		}
		r.byClass[res.Class]++
		r.failures = append(r.failures, plFailure{gap: j.gap, kind: j.im.Kind, size: j.im.Size, missing: j.im.Missing, job: j.job, res: res})
	}
	if *plReportFlag != "" {
		if err := os.WriteFile(*plReportFlag, []byte(r.summary(-1)), 0o644); err != nil {
			t.Error(err)
		}
	}
	return r
}

// plTempDir is a directory on tmpfs where there is one: the images are many
// and short-lived, and the model does not depend on the file system.
func plTempDir(t *testing.T) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "kv-powerloss-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// parseLines reads the writer's acknowledgements: "o" after Open, "a J
// FLAGS" after op J.
func (r *plRun) parseLines() error {
	r.opened = -1
	for _, l := range r.tr.Lines {
		f := strings.Fields(l.Text)
		switch {
		case len(f) == 1 && f[0] == "o":
			r.opened = l.Before
		case len(f) >= 2 && f[0] == "a":
			j, err := strconv.Atoi(f[1])
			if err != nil || j != len(r.ackedAt) {
				return fmt.Errorf("acknowledgement %q out of order (want op %d)", l.Text, len(r.ackedAt))
			}
			flags := ""
			if len(f) > 2 {
				flags = f[2]
			}
			r.ackedAt = append(r.ackedAt, l.Before)
			r.flags = append(r.flags, flags)
			r.growths += strings.Count(flags, "g")
			r.rehashes += strings.Count(flags, "r")
			r.skipped += strings.Count(flags, "s")
		default:
			return fmt.Errorf("unknown acknowledgement %q", l.Text)
		}
	}
	if r.opened < 0 || len(r.ackedAt) != r.cfg.ops {
		return fmt.Errorf("the writer acknowledged %d of %d ops (opened: %v)", len(r.ackedAt), r.cfg.ops, r.opened >= 0)
	}
	return nil
}

// acked returns how many ops were acknowledged before call k entered.
func (r *plRun) acked(k int) int {
	return sort.Search(len(r.ackedAt), func(j int) bool { return r.ackedAt[j] > k })
}

// special reports whether gap g is always tested: it lies in creation,
// touches a size change or a directory sync, or an op that grew the file,
// rebuilt the table or skipped its flushes ran in it.
func (r *plRun) special(g int) bool {
	if r.opened > g {
		return true
	}
	for _, c := range r.tr.Calls[g : g+2] {
		switch {
		case c.Name == "ftruncate", c.Name == "fallocate", c.Name == "start", c.Name == "exit",
			c.On == powerloss.OnDir, c.On == powerloss.OnOther:
			return true
		}
	}
	for j := r.acked(g); j <= r.acked(g+1) && j < len(r.flags); j++ {
		if r.flags[j] != "" {
			return true
		}
	}
	return false
}

// chooseImages takes every special gap, then random other gaps until the
// image budget is spent, and returns one job per distinct image and
// acknowledgement state.
func (r *plRun) chooseImages(path string) []plJobImage {
	var special, other []int
	for g := range r.tr.Gaps() {
		if r.special(g) {
			special = append(special, g)
		} else {
			other = append(other, g)
		}
	}
	rng := rand.New(rand.NewPCG(r.seed, 0x676170))
	rng.Shuffle(len(other), func(i, j int) { other[i], other[j] = other[j], other[i] })
	type key struct {
		hash    uint64
		acked   int
		pending bool
	}
	seen := map[key]bool{}
	var jobs []plJobImage
	take := func(g int) {
		acked := r.acked(g + 1)
		pending := r.opened <= g+1 && acked < r.cfg.ops
		ims := r.tr.Images(g, powerloss.Options{Random: *plRandomFlag, Torn: 2,
			Rand: rand.New(rand.NewPCG(r.seed, uint64(g)))})
		r.generated += len(ims)
		for _, im := range ims {
			if r.cfg.afterSync && (r.tr.Calls[g].Name != "fdatasync" || im.Kind != "all-old") {
				continue
			}
			k := key{im.Hash, acked, pending}
			if seen[k] {
				continue
			}
			seen[k] = true
			jobs = append(jobs, plJobImage{job: plJob{Acked: acked, Pending: pending}, im: im, gap: g})
		}
	}
	for _, g := range special {
		take(g)
	}
	r.always = len(special)
	for _, g := range other {
		if r.cfg.images > 0 && len(jobs) >= r.cfg.images {
			break
		}
		take(g)
		r.sampled++
	}
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].gap < jobs[j].gap })
	for i := range jobs {
		jobs[i].job.ID = i
	}
	r.images = len(jobs)
	return jobs
}
