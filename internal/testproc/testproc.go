// Package testproc runs parts of a test binary as child processes. The
// multi-process tests of this module (writers and readers in other processes,
// killed writers, power-loss and linearizability runs) all start their
// children through it, so that there is one way to name a child's role, pass
// its arguments and keep a race-instrumented child from sleeping at exit.
//
// A test package registers its roles, in TestMain or in an init function of
// the file that defines them, and calls Main (or RunChild) from TestMain:
//
//	func TestMain(m *testing.M) {
//		testproc.Register("writer", runWriter)
//		testproc.Main(m)
//	}
//
// and starts a child with Command(t, "writer", path, "100"). Other binaries a
// test starts (a kvtool built for the test) get their environment from Env.
package testproc

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The environment carries the role and its arguments: a test binary parses
// its own flags before TestMain runs, so positional arguments are not safe.
const (
	envRole = "MAPKV_TEST_ROLE"
	envArgs = "MAPKV_TEST_ARGS"
)

// ExitFailed is the status of a child whose role returned an error.
const ExitFailed = 3

// A Role is the body of a child process. Its error is printed to stderr and
// the child exits with ExitFailed; returning nil exits 0.
type Role func(args []string) error

var roles = map[string]Role{}

// Register names a role. It panics on a duplicate name: two tests of one
// binary must not claim the same role.
func Register(name string, fn Role) {
	if _, dup := roles[name]; dup {
		panic("testproc: role " + name + " registered twice")
	}
	roles[name] = fn
}

// IsChild reports whether this process was started by Command.
func IsChild() bool { return os.Getenv(envRole) != "" }

// Main runs the role this process was started for and exits, or, in the
// parent, runs the tests and exits with their status.
func Main(m *testing.M) {
	RunChild()
	os.Exit(m.Run())
}

// RunChild runs the role this process was started for and exits; in the
// parent it returns at once. A TestMain with work of its own around m.Run
// calls it first.
func RunChild() {
	if IsChild() {
		os.Exit(runRole(os.Getenv(envRole), os.Getenv(envArgs)))
	}
}

func runRole(name, encoded string) int {
	fn, ok := roles[name]
	if !ok {
		names := make([]string, 0, len(roles))
		for n := range roles {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "testproc: unknown role %q (known: %s)\n", name, strings.Join(names, ", "))
		return ExitFailed
	}
	var args []string
	if encoded != "" {
		if err := json.Unmarshal([]byte(encoded), &args); err != nil {
			fmt.Fprintf(os.Stderr, "testproc: role %s: bad arguments: %v\n", name, err)
			return ExitFailed
		}
	}
	if err := fn(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return ExitFailed
	}
	return 0
}

// Command returns the test binary set up to run role with args. Its stderr
// is the parent's, so that a child's failure shows in the test log; callers
// may replace it.
func Command(t testing.TB, role string, args ...string) *exec.Cmd {
	t.Helper()
	if _, ok := roles[role]; !ok {
		t.Fatalf("testproc: role %q is not registered", role)
	}
	encoded, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = Env(envRole+"="+role, envArgs+"="+string(encoded))
	cmd.Stderr = os.Stderr
	return cmd
}

// CopyBinary copies the test binary into dir (mode 0755) and returns the
// copy's path. A child that runs as another user cannot reach the binary in go
// test's private work directory; it runs the copy instead:
//
//	cmd := testproc.Command(t, "nobody", path)
//	cmd.Path = testproc.CopyBinary(t, dir)
//
// A process started elsewhere while the copy is being written holds it open
// for writing until it execs, and running the copy then fails with ETXTBSY:
// do not copy while parallel tests start children.
func CopyBinary(t testing.TB, dir string) string {
	t.Helper()
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(os.Args[0]))
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// Env is the environment for any child a test starts (the test binary, or
// another binary such as kvtool), with extra appended. A binary built with
// -race sleeps a second before it exits unless told not to, and tests start
// hundreds of children.
func Env(extra ...string) []string {
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	env := make([]string, 0, len(os.Environ())+len(extra)+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envRole+"=") && !strings.HasPrefix(kv, envArgs+"=") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "GORACE="+gorace), extra...)
}
