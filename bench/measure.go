package main

import (
	"runtime"
	"slices"
	"time"
)

// checkEvery is how many operations run between looks at the clock, so
// that the budget check costs nothing measurable.
const checkEvery = 256

// measure runs op for i = 0..n-1, or until budget has passed, and reports
// time, throughput and heap allocations per operation. The first error
// stops the run and is reported with the operations done before it.
func measure(store, workload string, n int64, budget time.Duration, op func(i int64) error) Result {
	r := Result{Store: store, Workload: workload, Wanted: n}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	deadline := start.Add(budget)
	var i int64
	for ; i < n; i++ {
		if i%checkEvery == 0 && i > 0 && time.Now().After(deadline) {
			break
		}
		if err := op(i); err != nil {
			r.Err = err.Error()
			break
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	r.Ops = i
	if i > 0 {
		r.NsPerOp = float64(elapsed.Nanoseconds()) / float64(i)
		r.OpsPerSec = float64(i) / elapsed.Seconds()
		r.AllocsPerOp = float64(after.Mallocs-before.Mallocs) / float64(i)
		r.BytesPerOp = float64(after.TotalAlloc-before.TotalAlloc) / float64(i)
	}
	return r
}

// sampleLatency times each of up to n operations on its own into a
// preallocated slice, and returns the percentiles. It is a separate pass
// from measure so that reading the clock twice per operation does not
// inflate the throughput figures.
func sampleLatency(store, opName string, n int, budget time.Duration, op func(i int64) error) (Latency, error) {
	lat := make([]time.Duration, 0, n)
	runtime.GC()
	deadline := time.Now().Add(budget)
	var err error
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err = op(int64(i)); err != nil {
			break
		}
		t1 := time.Now()
		lat = append(lat, t1.Sub(t0))
		if t1.After(deadline) {
			break
		}
	}
	l := Latency{Store: store, Op: opName, Samples: len(lat)}
	if len(lat) == 0 {
		return l, err
	}
	slices.Sort(lat)
	l.P50, l.P99, l.P999, l.Max = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 0.999), lat[len(lat)-1]
	return l, err
}

// percentile returns the p-quantile (0 <= p <= 1) of the sorted, non-empty
// lat.
func percentile(lat []time.Duration, p float64) time.Duration {
	k := int(p * float64(len(lat)))
	if k >= len(lat) {
		k = len(lat) - 1
	}
	return lat[k]
}

// median returns the median of xs, 0 if it is empty; xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
