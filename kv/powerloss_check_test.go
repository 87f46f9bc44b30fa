//go:build unix

package kv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
)

// Running the checker children of the power-loss simulation.

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
