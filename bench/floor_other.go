//go:build !linux

package main

func init() {
	register(&Peer{Name: floorName, Order: -1, Durable: true, DurableOnly: true, Baseline: true,
		Unavailable: "the floor uses fdatasync(2), which is Linux's"})
}
