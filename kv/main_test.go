//go:build unix

package kv

import (
	"fmt"
	"os"
	"testing"

	"github.com/mapkv/mapkv/internal/powerloss"
	"github.com/mapkv/mapkv/internal/testproc"
)

// TestMain runs a child process's role (internal/testproc), or the tests,
// and then removes the benchmark file.
func TestMain(m *testing.M) {
	testproc.Register(powerloss.LauncherRole, powerloss.Launch)
	testproc.Register(plWriterRole, runPLWriter)
	testproc.Register(plCheckerRole, runPLChecker)
	testproc.RunChild()
	code := m.Run()
	if benchDB != nil {
		st := benchDB.Stats()
		fmt.Fprintf(os.Stderr, "bench file: %d keys, %d bytes (%.2fx the %d raw key+value bytes), %d slots\n",
			st.Keys, st.FileSize, float64(st.FileSize)/float64(benchKeys*(16+benchVal)), benchKeys*(16+benchVal), st.Slots)
		benchDB.Close()
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
