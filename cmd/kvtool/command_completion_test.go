package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// completeBash sources the bash script and completes the words of line (the
// last one being completed), returning COMPREPLY.
func completeBash(t *testing.T, script string, words ...string) []string {
	t.Helper()
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
	}
	prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
		itoa(len(words)-1) + "\n_kvtool\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", prog)
	cmd.Dir = t.TempDir()
	os.WriteFile(filepath.Join(cmd.Dir, "app.db"), nil, 0o600)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCompletionBash(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	r := kvtool(t, nil, "completion", "bash").want(t, exitOK)
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(r.stdout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{"kvtool", "ge"}, "get"},
		{[]string{"kvtool", "sn"}, "snapshot"},
		{[]string{"kvtool", "get", "ap"}, "app.db"},
		{[]string{"kvtool", "list", "app.db", "--pre"}, "--prefix"},
		{[]string{"kvtool", "create", "x", "--ev"}, "--evict"},
		{[]string{"kvtool", "help", "wa"}, "watch"},
		{[]string{"kvtool", "completion", "z"}, "zsh"},
	} {
		got := completeBash(t, r.stdout, tt.words...)
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("completing %q: %q, want %q", tt.words, got, tt.want)
		}
	}
	if got := completeBash(t, r.stdout, "kvtool", "m"); strings.Join(got, " ") != "mget mset" {
		t.Errorf("completing m: %q", got)
	}
	// Every command's every flag is offered.
	for _, c := range commands() {
		got := strings.Join(completeBash(t, r.stdout, "kvtool", c.name, "-"), " ")
		for _, f := range flagNames(c.flags) {
			if !strings.Contains(" "+got+" ", " "+flagSpelling(f)+" ") {
				t.Errorf("%s: %s not offered: %q", c.name, flagSpelling(f), got)
			}
		}
	}
}

func TestCompletionZsh(t *testing.T) {
	t.Parallel()
	r := kvtool(t, nil, "completion", "zsh").want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "#compdef kvtool\n") || !strings.Contains(r.stdout, "'snapshot:copy the file") {
		t.Errorf("zsh script:\n%s", r.stdout)
	}
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("no zsh to check the script's syntax")
	}
	cmd := exec.Command("zsh", "-n")
	cmd.Stdin = strings.NewReader(r.stdout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
}

func TestCompletionUsage(t *testing.T) {
	t.Parallel()
	kvtool(t, nil, "completion").usage(t, "completion")
	kvtool(t, nil, "completion", "fish").usage(t, "completion")
}
