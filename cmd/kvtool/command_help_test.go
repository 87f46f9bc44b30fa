package main

import (
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	t.Parallel()
	r := kvtool(t, nil, "help").want(t, exitOK)
	for _, c := range commands() {
		if !strings.Contains(r.stdout, "  "+c.name+" ") {
			t.Errorf("help does not list %s:\n%s", c.name, r.stdout)
		}
	}
	kvtool(t, nil, "--help").want(t, exitOK)
}

func TestHelpCommand(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		r := kvtool(t, nil, "help", c.name).want(t, exitOK)
		if !strings.HasPrefix(r.stdout, "usage: kvtool "+c.name) {
			t.Errorf("help %s: %q", c.name, r.stdout)
		}
		if r.stdout != kvtool(t, nil, c.name, "-h").want(t, exitOK).stdout {
			t.Errorf("%s -h differs from help %s", c.name, c.name)
		}
	}
}

func TestHelpUnknown(t *testing.T) {
	t.Parallel()
	kvtool(t, nil, "help", "frobnicate").usage(t, "help")
}
