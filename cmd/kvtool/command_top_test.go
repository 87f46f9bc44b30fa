package main

import (
	"bufio"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
)

var topPlain = regexp.MustCompile(`^time=\S+ keys=\d+ live_bytes=\d+ file_bytes=\d+ hit_ratio=(-|[0-9.]+) ops_per_s=(-|[0-9.]+) evictions_per_s=(-|[0-9.]+)$`)

// top prints plain lines to a pipe; with a writer committing meanwhile, its
// ops/s is above 0 after the first line.
func TestTop(t *testing.T) {
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
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		writer.Wait()
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("writer said %q, %v", line, err)
	}
	r := kvtool(t, nil, "top", path, "--count", "4", "--interval", "100ms").want(t, exitOK)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("top --count 4 printed %d lines:\n%s", len(lines), r.stdout)
	}
	busy := false // on a loaded machine the writer may miss an interval, not all three
	for i, l := range lines {
		m := topPlain.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not top's plain form", l)
		}
		if i == 0 && (m[2] != "-" || m[3] != "-") {
			t.Errorf("first line has rates: %q", l)
		}
		if ops, _ := strconv.ParseFloat(m[2], 64); i > 0 && ops > 0 {
			busy = true
		}
	}
	if !busy {
		t.Errorf("ops/s stayed 0 while a writer commits:\n%s", r.stdout)
	}
	r = kvtool(t, nil, "top", path, "--count", "2", "--interval", "10ms", "--json").want(t, exitOK)
	for i, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var tl topLine
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tl); err != nil || tl.Keys < 2 || (i == 1) != (tl.OpsPerS != nil) {
			t.Errorf("top --json line %d: %q, %v", i, l, err)
		}
	}
}

func TestTopUsage(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	kvtool(t, nil, "top", path, "--interval", "0s").usage(t, "top")
	kvtool(t, nil, "top", path, "--interval", "1").usage(t, "top")
	kvtool(t, nil, "top", path, "--count", "-1").usage(t, "top")
	kvtool(t, nil, "top", t.TempDir()+"/missing", "--count", "1").want(t, exitError).oneLine(t, "does not exist")
}
