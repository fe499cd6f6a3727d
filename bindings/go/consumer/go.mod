// A program that depends on the binding the way any module would (require + the import path),
// built against an INSTALLED libmhc found through pkg-config (PKG_CONFIG_PATH), nothing else.
// The replace line stands for the module proxy until the repository is published: it points at
// this checkout. bindings/go/run_test.sh builds and runs it against a temporary install.
module example.com/mhc-consumer

go 1.19

require github.com/libmhc/libmhc/bindings/go v0.4.0

replace github.com/libmhc/libmhc/bindings/go => ../
