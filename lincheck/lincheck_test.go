//go:build unix

package lincheck

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/mapkv/mapkv/internal/testproc"
)

func TestMain(m *testing.M) {
	testproc.Register("writer", writerRole)
	testproc.Register("reader", readerRole)
	testproc.Main(m)
}

// TestLinearizable runs writer and reader processes on the hot keys of a
// real store, with writers killed at random moments, and checks each round's
// history with porcupine.
func TestLinearizable(t *testing.T) {
	cfg := defaultConfig(t)
	sd := seed(t)
	rng := rand.New(rand.NewPCG(sd, 0))
	mode := "Updates atomic (MAPKV_LINCHECK_UPDATES=per-key checks each key of one on its own)"
	if !cfg.atomicUpdates {
		mode = "each key of an Update on its own"
	}
	t.Logf("seed %d (MAPKV_LINCHECK_SEED); writer processes with %v clients, %d readers, rounds of %v, a kill every %v on average; %s",
		sd, cfg.writers, cfg.readers, cfg.round, cfg.killEvery, mode)
	var sum totals
	failed := 0
	runRounds(t, cfg, rng, func(r int, res roundResult) bool {
		sum.add(res)
		v := res.verdict
		if testing.Verbose() {
			t.Logf("round %d: %d clients, %d operations (%d by readers), %d kills, %d unknown outcomes, checked in %v",
				r, res.clients, res.ops, res.readerOps, res.kills, res.pending, v.took.Round(time.Millisecond))
		}
		switch v.result {
		case porcupine.Illegal:
			failed++
			t.Errorf("round %d (%d operations, %d of unknown outcome): %s\nvisualization: %s\nhistory: %s",
				r, res.ops, res.pending, v.report, v.vis, v.saved)
		case porcupine.Unknown:
			failed++
			t.Errorf("round %d: porcupine gave up after %v on %d operations (%d of unknown outcome), history saved to %s: shorten the rounds (MAPKV_LINCHECK_ROUND) or raise MAPKV_LINCHECK_CHECK_TIMEOUT",
				r, v.took.Round(time.Millisecond), res.ops, res.pending, v.saved)
		}
		return failed < maxFailedRounds
	})
	t.Log(sum)
}

// maxFailedRounds is how many rounds that are not linearizable (or that the
// checker gave up on) a run reports before it stops.
const maxFailedRounds = 3

// TestHarnessFindsViolations is the negative control: the same harness on a
// store that is not linearizable must report a violation, with its
// visualization written and the violating operations described.
func TestHarnessFindsViolations(t *testing.T) {
	for _, c := range []struct {
		store  string
		atomic bool // check Updates as atomic
	}{
		{storeSplitUpdate, true},
		{storeLeakyUpdate, false},
		{storeStaleRead, false},
	} {
		t.Run(c.store, func(t *testing.T) {
			cfg := defaultConfig(t)
			cfg.store, cfg.atomicUpdates, cfg.rounds, cfg.visDir = c.store, c.atomic, 5, t.TempDir()
			rng := rand.New(rand.NewPCG(seed(t), 1))
			found := false
			runRounds(t, cfg, rng, func(r int, res roundResult) bool {
				v := res.verdict
				if v.result != porcupine.Illegal {
					t.Logf("round %d: %s on %d operations, checked in %v", r, v.result, res.ops, v.took)
					return true
				}
				found = true
				st, err := os.Stat(v.vis)
				if err != nil || st.Size() == 0 {
					t.Fatalf("violation found, but no visualization: %v (report: %s)", err, v.report)
				}
				if v.report == "" {
					t.Fatal("violation found, but not described")
				}
				t.Logf("round %d: violation found among %d operations in %v, as it should be:\n%s",
					r, res.ops, v.took.Round(time.Millisecond), v.report)
				return false
			})
			if !found {
				t.Fatalf("%d rounds on the %s store found no violation: the harness cannot fail", cfg.rounds, c.store)
			}
		})
	}
}

// TestRecheck checks a history saved by a failed round again, with
// MAPKV_LINCHECK_RECHECK naming its file (and MAPKV_LINCHECK_CHECK_TIMEOUT,
// MAPKV_LINCHECK_UPDATES as for the run that saved it).
func TestRecheck(t *testing.T) {
	path := os.Getenv("MAPKV_LINCHECK_RECHECK")
	if path == "" {
		t.Skip("MAPKV_LINCHECK_RECHECK names no saved history")
	}
	ops, err := readSavedHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig(t)
	v := check(ops, cfg.checkTimeout, cfg.visDir)
	t.Logf("%d operations: %s in %v\n%s\nvisualization: %s", len(ops), v.result, v.took, v.report, v.vis)
}
