module github.com/mapkv/mapkv/bench

go 1.26.8

replace github.com/mapkv/mapkv => ../

require (
	github.com/PowerDNS/lmdb-go v1.9.3
	github.com/akrylysov/pogreb v0.10.2
	github.com/dgraph-io/ristretto/v2 v2.4.2
	github.com/mapkv/mapkv v0.0.0-00010101000000-000000000000
	github.com/maypok86/otter/v2 v2.4.0
	github.com/redis/go-redis/v9 v9.23.0
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dustin/go-humanize v1.0.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
)
