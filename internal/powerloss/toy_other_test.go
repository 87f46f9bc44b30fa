//go:build !linux || !(amd64 || arm64)

package powerloss

// registerToy: Record's test and its child role are Linux-only.
func registerToy() {}
