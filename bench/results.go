package main

import "time"

// Report is everything one run measured; it is written as JSON beside the
// markdown so later runs and docs can be compared without re-running.
type Report struct {
	Mode      string        `json:"mode"`
	Keys      int           `json:"keys"`
	Budget    time.Duration `json:"budget_ns"`
	Started   time.Time     `json:"started"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	Machine   Machine       `json:"machine"`
	Peers     []PeerStatus  `json:"peers"`
	Results   []Result      `json:"results"`
	Latencies []Latency     `json:"latencies"`
	Sizes     []SizeInfo    `json:"sizes"`
	Readers   []ReaderRun   `json:"readers"`
	Snapshots []SnapResult  `json:"snapshots"`
	Scaling   []ScalePoint  `json:"scaling"`
	Durable   []DurableRun  `json:"durable,omitempty"`
	Rounds    int           `json:"rounds,omitempty"` // rounds of the durable measurements
}

// Machine describes where the numbers were taken.
type Machine struct {
	GoVersion string `json:"go"`
	OS        string `json:"os"`
	CPUs      int    `json:"cpus"`
	CPU       string `json:"cpu"`
	Kernel    string `json:"kernel"`
	TempDir   string `json:"tempdir"`
	Redis     string `json:"redis"`
}

// PeerStatus says whether a store ran, and why not when it did not.
type PeerStatus struct {
	Name         string `json:"name"`
	Ran          bool   `json:"ran"`
	Problem      string `json:"problem,omitempty"`
	Notes        string `json:"notes,omitempty"`
	MultiProcess bool   `json:"multi_process"`
	Baseline     bool   `json:"baseline,omitempty"` // not a key-value store: a floor measured beside them
	WhyNot       string `json:"why_not_multi_process,omitempty"`
}

// Result is one workload on one store.
type Result struct {
	Store       string  `json:"store"`
	Workload    string  `json:"workload"`
	Ops         int64   `json:"ops"`
	Wanted      int64   `json:"wanted"` // ops asked for; Ops < Wanted when the budget ran out
	NsPerOp     float64 `json:"ns_per_op"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	Err         string  `json:"error,omitempty"`
}

// Capped reports whether the time budget stopped the workload early.
func (r Result) Capped() bool { return r.Ops < r.Wanted }

// Latency holds percentiles of individually timed operations.
type Latency struct {
	Store   string        `json:"store"`
	Op      string        `json:"op"`
	Samples int           `json:"samples"`
	P50     time.Duration `json:"p50_ns"`
	P99     time.Duration `json:"p99_ns"`
	P999    time.Duration `json:"p999_ns"`
	Max     time.Duration `json:"max_ns"`
}

// SizeInfo is the footprint of a loaded store.
type SizeInfo struct {
	Store     string `json:"store"`
	Keys      int    `json:"keys"`
	Apparent  int64  `json:"apparent_bytes"`  // sum of file sizes
	Allocated int64  `json:"allocated_bytes"` // blocks on disk
	Memory    bool   `json:"memory"`          // Redis: server used_memory instead of files
}

// MemStatus is a process's memory as the kernel reports it, in bytes.
type MemStatus struct {
	PeakRSS int64 `json:"peak_rss"`
	RSS     int64 `json:"rss"`
	RSSAnon int64 `json:"rss_anon"`
	RSSFile int64 `json:"rss_file"`
}

// ReaderRun is a reader process: alone, or beside a writer in this one.
type ReaderRun struct {
	Store      string    `json:"store"`
	Concurrent bool      `json:"concurrent"`
	Reader     Result    `json:"reader"`
	Writer     Result    `json:"writer,omitempty"`
	Mem        MemStatus `json:"mem"`
	Misses     int64     `json:"misses"`     // Gets of a loaded key that found nothing
	BadValues  int64     `json:"bad_values"` // values that were none of the versions written
	Checked    int64     `json:"checked"`
	ServerMem  MemStatus `json:"server_mem,omitempty"` // Redis
	Err        string    `json:"error,omitempty"`
}

// SnapResult is one way of copying a loaded store's file.
type SnapResult struct {
	Store   string        `json:"store"`
	Method  string        `json:"method"`
	Bytes   int64         `json:"bytes"`
	Elapsed time.Duration `json:"elapsed_ns"` // best of the repetitions
	Err     string        `json:"error,omitempty"`
}

// MBps is the bandwidth in MB/s (10^6 bytes).
func (s SnapResult) MBps() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Bytes) / s.Elapsed.Seconds() / 1e6
}

// ScalePoint is the cost of one operation at one key count.
type ScalePoint struct {
	Store   string  `json:"store"`
	Op      string  `json:"op"`
	Keys    int     `json:"keys"`
	NsPerOp float64 `json:"ns_per_op"`
	Ops     int64   `json:"ops"`
	Err     string  `json:"error,omitempty"`
}

// DurableRun is one measurement of durable writes: a number of writers on
// one store in one round of a -durable run, or a measurement that could not
// run there (Skip says why, Round is -1).
type DurableRun struct {
	Store    string `json:"store"`
	Workload string `json:"workload"` // durable-put, durable-put-4g or durable-put-4p
	Writers  int    `json:"writers"`
	Round    int    `json:"round"`
	Writes   int64  `json:"writes"` // by all writers together
	// Wall runs from the first writer's start to the last one's end;
	// NsPerWrite is Wall / Writes, the cost of a write when Writers write
	// at once.
	Wall        time.Duration `json:"wall_ns"`
	NsPerWrite  float64       `json:"ns_per_write"`
	AllocsPerOp float64       `json:"allocs_per_op"`
	// P50 ... Max are the latencies of single calls, over every writer.
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
	// Commits is the store's own count of write transactions committed
	// during the run (every handle, every process), -1 if it has none.
	Commits int64  `json:"commits"`
	Skip    string `json:"skip,omitempty"`
	Err     string `json:"error,omitempty"`
}
