package powerloss

import (
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
)

func TestMain(m *testing.M) {
	testproc.Register(LauncherRole, Launch)
	registerToy()
	testproc.Main(m)
}
