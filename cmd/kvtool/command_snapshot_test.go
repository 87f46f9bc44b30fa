package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

func TestSnapshot(t *testing.T) {
	t.Parallel()
	pairs := awkwardPairs()
	path := newDB(t, pairs)
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"--compact"},
	} {
		dest := filepath.Join(dir, fmt.Sprint("snap", len(args), args))
		r := kvtool(t, nil, append([]string{"snapshot", path, dest}, args...)...).want(t, exitOK)
		if r.stdout != "" || r.stderr != "" {
			t.Errorf("snapshot %q printed %q, %q", args, r.stdout, r.stderr)
		}
		sameContents(t, contents(t, dest), pairs)
		kvtool(t, nil, "check", dest).want(t, exitOK)
	}
}

func TestSnapshotExistingDest(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "new"})
	dest := newDB(t, map[string]string{"k": "old"})
	kvtool(t, nil, "snapshot", path, dest).want(t, exitError).oneLine(t, dest, "already exists", "--force")
	sameContents(t, contents(t, dest), map[string]string{"k": "old"})
	kvtool(t, nil, "snapshot", path, dest, "--force").want(t, exitOK)
	sameContents(t, contents(t, dest), map[string]string{"k": "new"})
	// Not even --force replaces the source with itself.
	kvtool(t, nil, "snapshot", path, path, "--force").usage(t, "snapshot")
	sameContents(t, contents(t, path), map[string]string{"k": "new"})
}

func TestSnapshotUsage(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	kvtool(t, nil, "snapshot", path).usage(t, "snapshot")
	kvtool(t, nil, "snapshot", path, path+".2", "--method", "mmap").usage(t, "snapshot") // the library chooses
}

func TestSnapshotMissingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kvtool(t, nil, "snapshot", filepath.Join(dir, "missing"), filepath.Join(dir, "dest")).
		want(t, exitError).oneLine(t, "does not exist")
	if _, err := os.Stat(filepath.Join(dir, "dest")); !os.IsNotExist(err) {
		t.Errorf("dest exists: %v", err)
	}
}

// Snapshots taken while another process writes each hold one committed
// state: the transfer helper keeps a+b == transferTotal in every commit, so
// every snapshot must too.
func TestSnapshotWhileWriting(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a": strconv.Itoa(transferTotal), "b": "0"})
	writer := testproc.Command(t, "transfer", path)
	stdin, err := writer.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := writer.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	writer.Stderr = os.Stderr
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stdin.Close()
			if err := writer.Wait(); err != nil {
				t.Errorf("writer: %v", err)
			}
		}
	}
	defer stop()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("writer said %q, %v", line, err)
	}
	src, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	dir := t.TempDir()
	seen := map[int]bool{}
	for i := range 20 {
		dest := filepath.Join(dir, fmt.Sprint("snap", i))
		args := []string{"snapshot", path, dest}
		if i%3 == 2 {
			args = append(args, "--compact")
		}
		kvtool(t, nil, args...).want(t, exitOK)
		a, b := checkTransfer(t, dest)
		seen[a] = true
		if a+b != transferTotal {
			t.Errorf("snapshot %d (%q): a=%d b=%d, sum %d, want %d", i, args[3:], a, b, a+b, transferTotal)
		}
		// Make sure that the writer commits between two snapshots, so that
		// each one is taken amid writes. The deadline only catches a
		// writer that stopped.
		commits := src.Stats().Commits
		for deadline := time.Now().Add(time.Minute); src.Stats().Commits == commits; {
			if time.Now().After(deadline) {
				t.Fatal("the writer stopped committing")
			}
			time.Sleep(time.Millisecond)
		}
	}
	stop()
	if a, b := checkTransfer(t, path); a+b != transferTotal {
		t.Errorf("after the writer: a=%d b=%d", a, b)
	}
	t.Logf("%d distinct values of a in 20 snapshots", len(seen))
}

// checkTransfer opens the snapshot at path read-only, checks it, and
// returns its a and b.
func checkTransfer(t *testing.T, path string) (a, b int) {
	t.Helper()
	db, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Errorf("%s: %v", path, err)
	}
	if a, err = getInt(db, "a"); err != nil {
		t.Fatal(err)
	}
	if b, err = getInt(db, "b"); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// snapshot FILE - streams the copy to stdout; with --compact too.
func TestSnapshotStdout(t *testing.T) {
	t.Parallel()
	pairs := awkwardPairs()
	path := newDB(t, pairs)
	dir := t.TempDir()
	for i, args := range [][]string{{}, {"--compact"}} {
		r := kvtool(t, nil, append([]string{"snapshot", path, "-"}, args...)...).want(t, exitOK)
		if r.stderr != "" {
			t.Errorf("snapshot - %q: stderr %q", args, r.stderr)
		}
		copyPath := filepath.Join(dir, fmt.Sprint("stream", i))
		if err := os.WriteFile(copyPath, []byte(r.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		kvtool(t, nil, "check", copyPath).want(t, exitOK)
		sameContents(t, contents(t, copyPath), pairs)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("snapshot - left files beside FILE: %v", entries)
	}
	kvtool(t, nil, "snapshot", filepath.Join(dir, "missing"), "-").want(t, exitError).oneLine(t, "does not exist")
}

// A DEST that is a directory gets the copy under FILE's name, as cp does.
func TestSnapshotIntoDirectory(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "v"})
	dir := t.TempDir()
	kvtool(t, nil, "snapshot", path, dir).want(t, exitOK)
	sameContents(t, contents(t, filepath.Join(dir, filepath.Base(path))), map[string]string{"k": "v"})
	kvtool(t, nil, "snapshot", path, dir).want(t, exitError).oneLine(t, "already exists", "--force")
	kvtool(t, nil, "snapshot", path, dir, "--force").want(t, exitOK)
	// The directory FILE is in: that would be FILE itself.
	kvtool(t, nil, "snapshot", path, filepath.Dir(path), "--force").usage(t, "snapshot")
}
