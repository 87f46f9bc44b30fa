package kv

import (
	"fmt"
	"os"
	"time"
)

const (
	// MinFileSize is the smallest file: the header page, a two-page log, one
	// page of slots and room for records. Smaller InitialSize or MaxSize
	// values are raised to it.
	MinFileSize = 64 << 10
	// DefaultInitialSize is the size of a new file when Options.InitialSize is 0.
	DefaultInitialSize = 1 << 20
	// FormatVersion is the version of the file format this package reads
	// and writes: the little-endian uint32 at byte 8 of the file, after the
	// magic (docs/format.md). Open refuses a file of any other version with
	// an error wrapping ErrCorrupt that says how to copy its data.
	FormatVersion = formatVersion
)

// Options configures Open. The zero value (or a nil *Options) opens or creates
// a file for reading and writing with the defaults below.
type Options struct {
	// ReadOnly opens the file for reading only: writes return ErrReadOnly, a
	// missing file is an error, and nothing is ever written to the file.
	ReadOnly bool
	// InitialSize is the size of a new file, rounded up to whole pages and at
	// least MinFileSize; 0 means DefaultInitialSize. Ignored for existing files.
	InitialSize int64
	// MaxSize bounds the file; at the bound, writes return ErrFull. 0 means no
	// bound. It is a setting of the file, stored at creation: opening an
	// existing file with 0 takes the file's, a different non-zero value is
	// ErrInvalid.
	MaxSize int64
	// Evict makes the file a cache: at MaxSize (which it requires), writes make
	// room by evicting entries not used recently (an S3-FIFO policy fitted to
	// the file, docs/cache.md) instead of returning ErrFull. A setting of the
	// file, stored at creation like MaxSize: false takes the file's. In a
	// cache, an Update whose fn finds no room runs fn again after evicting.
	Evict bool
	// Sync flushes every committed write to the device before the write
	// returns: durable against power loss, at the cost of one fdatasync per
	// commit, which the goroutines of one handle that write at once share
	// (group commit). Without it a write survives any process crash but not
	// a power loss.
	Sync bool
	// Mode is the permission of a new file; 0 means 0o600.
	Mode os.FileMode
	// ComputeTimeout is how long GetOrCompute lets another process's fn run
	// before it stops waiting for it and computes the value itself (a
	// computer that died holds the key no longer than this). 0 means 10s.
	ComputeTimeout time.Duration
	// LockTimeout bounds how long a write waits for the writer lock held by
	// another process or handle; then it returns ErrLocked. 0 means wait as
	// long as it takes.
	LockTimeout time.Duration
}

// normalize validates o and fills in defaults.
func (o Options) normalize() (Options, error) {
	if o.InitialSize < 0 || o.MaxSize < 0 || o.LockTimeout < 0 {
		return o, fmt.Errorf("kv: negative InitialSize, MaxSize or LockTimeout: %w", ErrInvalid)
	}
	if o.Mode&^os.ModePerm != 0 {
		return o, fmt.Errorf("kv: Mode %v has more than permission bits: %w", o.Mode, ErrInvalid)
	}
	if o.ComputeTimeout <= 0 {
		o.ComputeTimeout = 10 * time.Second
	}
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	if o.InitialSize == 0 {
		o.InitialSize = DefaultInitialSize
	}
	o.InitialSize = max(roundUp(o.InitialSize, PageSize), MinFileSize)
	if o.Evict && o.MaxSize == 0 {
		return o, fmt.Errorf("kv: Evict needs a MaxSize to evict at: %w", ErrInvalid)
	}
	if o.MaxSize > 0 {
		o.MaxSize = max(roundUp(o.MaxSize, PageSize), MinFileSize)
		o.InitialSize = min(o.InitialSize, o.MaxSize)
	}
	return o, nil
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }
