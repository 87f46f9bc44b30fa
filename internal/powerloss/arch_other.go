//go:build linux && !amd64 && !arm64

package powerloss

// Elsewhere the trapped calls have other numbers or other names
// (sync_file_range2): not written yet, so Record reports ErrUnavailable.
const (
	auditArch     = 0
	archSupported = false
)
