// The Go binding of libmhc. Import it as
//
//	import "github.com/libmhc/libmhc/bindings/go" // package mhc
//
// It finds libmhc through pkg-config (#cgo pkg-config: mhc): PKG_CONFIG_PATH=<prefix>/lib/pkgconfig
// for an installed libmhc in a prefix the system does not search.
module github.com/libmhc/libmhc/bindings/go

go 1.19
