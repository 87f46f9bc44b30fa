//go:build unix && !linux

package kv

import "time"

// Elsewhere Watch polls with a backoff; see Watch.
const futexSupported = false

func futexWait(word *uint32, val uint32, d time.Duration) { time.Sleep(d) }

func futexWake(word *uint32) {}
