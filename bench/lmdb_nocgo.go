//go:build !cgo

package main

func init() {
	register(&Peer{
		Name:        "lmdb",
		Order:       20,
		Unavailable: "lmdb-go needs cgo and a C compiler; this binary was built with CGO_ENABLED=0",
	})
}
