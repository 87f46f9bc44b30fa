package main

import (
	"errors"
	"slices"
	"testing"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args  []string
		pos   []string
		force bool
		name  string
	}{
		{[]string{"F", "K"}, []string{"F", "K"}, false, ""},
		{[]string{"F", "K", "--force"}, []string{"F", "K"}, true, ""},
		{[]string{"-force", "F", "K"}, []string{"F", "K"}, true, ""},
		{[]string{"F", "--name", "x", "K"}, []string{"F", "K"}, false, "x"},
		{[]string{"F", "--name=x", "K"}, []string{"F", "K"}, false, "x"},
		{[]string{"F", "--name", "-x", "K"}, []string{"F", "K"}, false, "-x"},
		{[]string{"F", "--force=false", "K"}, []string{"F", "K"}, false, ""},
		{[]string{"F", "-", "K"}, []string{"F", "-", "K"}, false, ""},
		{[]string{"F", "-5", "--force"}, []string{"F", "-5"}, true, ""},
		{[]string{"F", "-1x", "--name", "-2"}, []string{"F", "-1x"}, false, "-2"},
		{[]string{"F", "--", "--force", "-K"}, []string{"F", "--force", "-K"}, false, ""},
		{[]string{"--force", "--", "--"}, []string{"--"}, true, ""},
	}
	for _, tt := range tests {
		c := newCommand("test", "F K", "", 0, -1)
		force := c.flags.Bool("force", false, "")
		name := c.flags.String("name", "", "")
		pos, err := parseArgs(c.flags, tt.args)
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if !slices.Equal(pos, tt.pos) || *force != tt.force || *name != tt.name {
			t.Errorf("parseArgs(%q) = %q, force %v, name %q; want %q, %v, %q",
				tt.args, pos, *force, *name, tt.pos, tt.force, tt.name)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"F", "--nope"},
		{"F", "-x"},
		{"F", "--name"},
		{"---name", "x"},
	} {
		c := newCommand("test", "F", "", 0, -1)
		c.flags.String("name", "", "")
		_, err := parseArgs(c.flags, args)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("parseArgs(%q) = %v, want a usage error", args, err)
		}
	}
	for _, h := range []string{"-h", "--help", "-help"} {
		c := newCommand("test", "F", "", 0, -1)
		if _, err := parseArgs(c.flags, []string{"F", h}); !errors.Is(err, errHelp) {
			t.Errorf("parseArgs(%q) = %v, want errHelp", h, err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB",
		1 << 20: "1 MiB", 64 << 20: "64 MiB", 3<<30 + 1<<29: "3.5 GiB",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
