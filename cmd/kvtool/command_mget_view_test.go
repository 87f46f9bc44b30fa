package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
)

// startTransfer starts the transfer helper on path and returns once it has
// committed; the helper stops at the test's end.
func startTransfer(t *testing.T, path string) {
	t.Helper()
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
	t.Cleanup(func() {
		stdin.Close()
		if err := writer.Wait(); err != nil {
			t.Errorf("writer: %v", err)
		}
	})
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("writer said %q, %v", line, err)
	}
}

// mget reads its keys as of one commit: while another process moves units
// between a and b in atomic Updates, every mget of both sees them sum to
// the total.
func TestMgetIsConsistent(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a": strconv.Itoa(transferTotal), "b": "0"})
	startTransfer(t, path)
	seen := map[string]bool{}
	for i := range 40 {
		r := kvtool(t, nil, "mget", path, "a", "b").want(t, exitOK)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("mget printed %q", r.stdout)
		}
		a, err1 := strconv.Atoi(lines[0])
		b, err2 := strconv.Atoi(lines[1])
		if err1 != nil || err2 != nil || a+b != transferTotal {
			t.Fatalf("mget %d: a=%q b=%q, want a sum of %d", i, lines[0], lines[1], transferTotal)
		}
		seen[lines[0]] = true
	}
	if len(seen) < 2 {
		t.Errorf("every mget saw a = %v: the writer did not move anything between them", seen)
	}
	// --lock-timeout is accepted, and a negative one is bad usage.
	kvtool(t, nil, "mget", "--lock-timeout", "1s", path, "a").want(t, exitOK)
	kvtool(t, nil, "mget", "--lock-timeout", "-1s", path, "a").usage(t, "mget")
}
