package main

import (
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	r := kvtool(t, nil, "version").want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "kvtool ") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("version: %q", r.stdout)
	}
	kvtool(t, nil, "version", "extra").usage(t, "version")
}
