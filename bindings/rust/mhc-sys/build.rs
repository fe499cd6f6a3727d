// Finds and links libmhc. Where from, in this order:
//   MHC_LIB_DIR   a directory holding libmhc.so (a build tree or <prefix>/lib);
//   pkg-config    the mhc module (mhc.pc) of an installed libmhc, through the pkg-config crate:
//                 PKG_CONFIG_PATH=<prefix>/lib/pkgconfig for a prefix the system does not search.
// Neither: the build fails with a message naming both.
//
// The directory is handed to the crates that depend on this one as DEP_MHC_LIB_DIR (links =
// "mhc"), and put on the rpath of this crate's own tests. A binary of another crate gets no rpath
// from here (cargo passes a build script's link arguments only to its own package's targets): its
// build.rs puts DEP_MHC_LIB_DIR on its rpath in one line (docs/bindings_rust.md, "Using it";
// bindings/rust/consumer does), or LD_LIBRARY_PATH names the directory at run time.
use std::env;
use std::path::Path;

const MIN_VERSION: &str = "0.4.0";

fn main() {
    println!("cargo:rerun-if-env-changed=MHC_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");

    if let Some(dir) = env::var_os("MHC_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = Path::new(&dir);
        let found = ["libmhc.so", "libmhc.so.1", "libmhc.dylib"].iter().any(|f| dir.join(f).exists());
        if !found {
            panic!(
                "\n\nmhc-sys: MHC_LIB_DIR={} holds no libmhc.so: set MHC_LIB_DIR to the directory of libmhc.so (a \
                 build tree, or <prefix>/lib of an installed libmhc), or unset it and set PKG_CONFIG_PATH to \
                 <prefix>/lib/pkgconfig\n\n",
                dir.display()
            );
        }
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=dylib=mhc");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        println!("cargo:lib_dir={}", dir.display());
        return;
    }

    match pkg_config::Config::new().atleast_version(MIN_VERSION).probe("mhc") {
        Ok(lib) => {
            // pkg-config printed -L, -l and mhc.pc's -Wl,-rpath for this crate's targets.
            if let Some(dir) = lib.link_paths.first() {
                println!("cargo:lib_dir={}", dir.display());
            }
        }
        Err(e) => panic!(
            "\n\nmhc-sys: libmhc {}+ was not found. Either\n  \
             - set MHC_LIB_DIR to the directory holding libmhc.so (a build tree, or <prefix>/lib), or\n  \
             - set PKG_CONFIG_PATH to <prefix>/lib/pkgconfig of an installed libmhc (the directory of mhc.pc;\n    \
             `cmake --install build --prefix <prefix>` installs it).\npkg-config said: {}\n\n",
            MIN_VERSION, e
        ),
    }
}
