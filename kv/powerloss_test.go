//go:build unix

package kv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

type plConfig struct {
	mode   string // the writer's mode: "sync", "nosync" or "skip"
	ops    int
	images int // distinct images to check; 0: every gap
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

// callLabel names call k by its place in what the writer was doing: "fdatasync
// 2/3 of an op" is the second of the three calls an op made.
func (r *plRun) callLabel(k int) string {
	c := r.tr.Calls[k]
	if c.Name == "start" || c.Name == "exit" {
		return c.Name
	}
	phase := func(i int) int { // -1 in Open, ops in Close
		if r.opened > i {
			return -1
		}
		return r.acked(i)
	}
	p := phase(k)
	first, last := k, k
	for first > 1 && phase(first-1) == p {
		first--
	}
	for last+1 < len(r.tr.Calls)-1 && phase(last+1) == p {
		last++
	}
	what := "an op"
	switch p {
	case -1:
		what = "Open"
	case r.cfg.ops:
		what = "Close"
	}
	return fmt.Sprintf("%s %d/%d of %s", c.Name, k-first+1, last-first+1, what)
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

// check runs the jobs in batches, each in a fresh checker process, and
// returns their results in order.
func (r *plRun) check(t *testing.T, dir string, jobs []plJobImage) []plResult {
	const batch = 64
	results := make([]plResult, len(jobs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(*plCheckersFlag, runtime.NumCPU())) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range work {
				hi := min(lo+batch, len(jobs))
				copy(results[lo:hi], r.checkBatch(t, filepath.Join(dir, fmt.Sprintf("batch%d", lo)), jobs[lo:hi]))
			}
		}()
	}
	for lo := 0; lo < len(jobs); lo += batch {
		work <- lo
	}
	close(work)
	wg.Wait()
	return results
}

// checkBatch writes the images and runs a checker over them; when a checker
// dies on an image, that image fails as "checker-crash" and a new checker
// takes the rest.
func (r *plRun) checkBatch(t *testing.T, dir string, jobs []plJobImage) []plResult {
	out := make([]plResult, 0, len(jobs))
	for len(out) < len(jobs) {
		rest := jobs[len(out):]
		got, stderr, err := r.runChecker(t, dir, rest)
		for _, j := range rest {
			res, ok := got[j.job.ID]
			if !ok {
				break
			}
			out = append(out, res)
		}
		if len(out) < len(jobs) {
			class := "checker-crash"
			if errors.Is(err, context.DeadlineExceeded) {
				class = "checker-hang"
			}
			tail := stderr
			if len(tail) > 600 {
				tail = "..." + tail[len(tail)-600:]
			}
			out = append(out, plResult{ID: jobs[len(out)].job.ID, Class: class,
				Detail: fmt.Sprintf("the checker stopped on this image: %v: %s", err, strings.TrimSpace(tail))})
		}
	}
	return out
}

func (r *plRun) runChecker(t *testing.T, dir string, jobs []plJobImage) (map[int]plResult, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	var list bytes.Buffer
	for _, j := range jobs {
		j.job.Path = filepath.Join(dir, fmt.Sprintf("image%d.kv", j.job.ID))
		if err := j.im.WriteFile(j.job.Path); err != nil {
			return nil, "", err
		}
		line, _ := json.Marshal(j.job)
		list.Write(append(line, '\n'))
	}
	jobsPath, resultsPath := filepath.Join(dir, "jobs"), filepath.Join(dir, "results")
	if err := os.WriteFile(jobsPath, list.Bytes(), 0o644); err != nil {
		return nil, "", err
	}
	cmd := testproc.Command(t, plCheckerRole, fmt.Sprint(r.seed), fmt.Sprint(r.cfg.ops), jobsPath, resultsPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var runErr error
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	var hung atomic.Bool
	limit := time.Minute + time.Duration(len(jobs))*time.Second
	timer := time.AfterFunc(limit, func() {
		hung.Store(true)
		cmd.Process.Kill()
	})
	runErr = cmd.Wait()
	timer.Stop()
	if hung.Load() {
		runErr = fmt.Errorf("killed after %v: %w", limit, context.DeadlineExceeded)
	}
	got := map[int]plResult{}
	if f, err := os.Open(resultsPath); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var res plResult
			if json.Unmarshal(sc.Bytes(), &res) == nil {
				got[res.ID] = res
			}
		}
		f.Close()
	}
	if runErr == nil && len(got) < len(jobs) {
		runErr = errors.New("the checker exited without a verdict")
	}
	return got, stderr.String(), runErr
}

// summary describes the run and, for each class of failure, up to most
// examples (all of them if most < 0).
func (r *plRun) summary(most int) string {
	var b strings.Builder
	calls := map[string]int{}
	for _, c := range r.tr.Calls {
		calls[c.Name]++
	}
	var names []string
	for n := range calls {
		if n != "start" && n != "exit" {
			names = append(names, fmt.Sprintf("%s %d", n, calls[n]))
		}
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "power-loss %s, seed %d: %d ops (%d growths, %d table rebuilds, %d with flushes skipped); %d held calls (%s; %d other calls let through) recorded in %v\n",
		r.cfg.mode, r.seed, r.cfg.ops, r.growths, r.rehashes, r.skipped, len(r.tr.Calls)-2, strings.Join(names, ", "), r.tr.Ignored, r.recordTime.Round(time.Millisecond))
	rate := float64(r.images) / max(r.checkTime.Seconds(), 1e-9)
	fmt.Fprintf(&b, "%d gaps, %d tested (%d always: creation, size changes, directory syncs, growth, rebuilds, skipped flushes; %d sampled); %d distinct images of %d made, checked in %v (%.0f images/s); %d failed\n",
		r.tr.Gaps(), r.always+r.sampled, r.always, r.sampled, r.images, r.generated, r.checkTime.Round(time.Millisecond), rate, len(r.failures))
	classes := make([]string, 0, len(r.byClass))
	for c := range r.byClass {
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool { return r.byClass[classes[i]] > r.byClass[classes[j]] })
	for _, c := range classes {
		fmt.Fprintf(&b, "  %-14s %d  (%s)\n", c, r.byClass[c], r.shapes(c, 4))
	}
	if most == 0 {
		return b.String()
	}
	for _, c := range classes {
		fmt.Fprintf(&b, "%s (%d):\n", c, r.byClass[c])
		n := 0
		for _, f := range r.failures {
			if f.res.Class != c {
				continue
			}
			if most > 0 && n == most {
				fmt.Fprintf(&b, "  ...\n")
				break
			}
			n++
			b.WriteString(r.describeFailure(f))
		}
	}
	return b.String()
}

// shapes counts the failures of class by the calls around their gap, most
// frequent first.
func (r *plRun) shapes(class string, most int) string {
	count := map[string]int{}
	for _, f := range r.failures {
		if f.res.Class == class {
			count[r.callLabel(f.gap)+" → "+r.callLabel(f.gap+1)]++
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if count[keys[i]] != count[keys[j]] {
			return count[keys[i]] > count[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d between %s", count[k], k))
	}
	return strList(parts, most)
}

func (r *plRun) describeFailure(f plFailure) string {
	c0, c1 := r.tr.Calls[f.gap], r.tr.Calls[f.gap+1]
	where := fmt.Sprintf("gap %d, after %s (call %d, %s) and before %s (call %d, %s)",
		f.gap, c0, f.gap, r.callLabel(f.gap), c1, f.gap+1, r.callLabel(f.gap+1))
	var during string
	switch {
	case r.opened > f.gap+1:
		during = "during Open (creation)"
	case f.job.Pending:
		j := f.job.Acked
		during = fmt.Sprintf("op %d in progress: %s", j, r.w.ops[j])
		if fl := r.flags[j]; fl != "" {
			during += " [" + strings.NewReplacer("g", " growth", "r", " rebuild", "s", " flushes-skipped").Replace(fl) + " ]"
		}
	default:
		during = "after the last op"
	}
	img := fmt.Sprintf("image %q, length %d", f.kind, f.size)
	if f.missing {
		img = fmt.Sprintf("image %q", f.kind)
	}
	detail := f.res.Detail
	if len(detail) > 700 {
		detail = detail[:700] + "..."
	}
	detail = strings.ReplaceAll(strings.TrimSpace(detail), "\n", "\n      ")
	return fmt.Sprintf("  %s; %s; %d acknowledged\n    %s\n      %s\n", where, during, f.job.Acked, img, detail)
}
