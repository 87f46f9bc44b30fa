package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at release time: go build -ldflags "-X main.version=v1.2.3".
// Without it kvtool reports the module version and VCS revision Go recorded.
var version = ""

func newVersionCommand() *command {
	c := newCommand("version", "", "print kvtool's version", 0, 0)
	c.help = `
Version prints kvtool's version, the revision it was built from when known,
and the Go version and platform it was built with. --json prints
{"version":"v1.2.3","go":"go1.24.0","os":"linux","arch":"amd64"}.
`
	asJSON := c.flags.Bool("json", false, "print one JSON object")
	c.run = func(e *env, args []string) error {
		if *asJSON {
			return writeJSON(e.stdout, struct {
				Version string `json:"version"`
				Go      string `json:"go"`
				OS      string `json:"os"`
				Arch    string `json:"arch"`
			}{buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH})
		}
		_, err := fmt.Fprintf(e.stdout, "kvtool %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return err
	}
	return c
}

func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" && (v == "" || v == "(devel)") {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return fmt.Sprintf("(devel %s%s)", rev, dirty)
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}
