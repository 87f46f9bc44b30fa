module github.com/mapkv/mapkv/lincheck

go 1.26.0

replace github.com/mapkv/mapkv => ../

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/mapkv/mapkv v0.0.0-00010101000000-000000000000
	golang.org/x/sys v0.50.0
)

require github.com/cespare/xxhash/v2 v2.3.0 // indirect
