//go:build !cgo

package main

func init() {
	const why = "lmdb-go needs cgo and a C compiler; this binary was built with CGO_ENABLED=0"
	register(&Peer{Name: "lmdb", Order: 20, Unavailable: why})
	register(&Peer{Name: "lmdb-sync", Order: 21, Durable: true, DurableOnly: true, Unavailable: why})
}
