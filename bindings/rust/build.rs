// Links libmhc. Where from, in this order:
//   MHC_LIB_DIR   a directory holding libmhc.so (a build tree or <prefix>/lib); also put on the
//                 rpath of the tests and examples, so they run without LD_LIBRARY_PATH;
//   pkg-config    `pkg-config --libs-only-L mhc` for an installed libmhc (PKG_CONFIG_PATH);
//   otherwise     the linker's default search path (/usr/lib, /usr/local/lib ...).
// No crates: only std (nothing is downloaded).
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=MHC_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");

    let mut dirs: Vec<String> = Vec::new();
    if let Ok(dir) = env::var("MHC_LIB_DIR") {
        if !dir.is_empty() {
            dirs.push(dir);
        }
    }
    if dirs.is_empty() {
        if let Ok(out) = Command::new("pkg-config").args(["--libs-only-L", "mhc"]).output() {
            if out.status.success() {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                for flag in text.split_whitespace() {
                    if let Some(dir) = flag.strip_prefix("-L") {
                        dirs.push(dir.to_string());
                    }
                }
            }
        }
    }
    for dir in &dirs {
        println!("cargo:rustc-link-search=native={}", dir);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
    }
    println!("cargo:rustc-link-lib=dylib=mhc");
}
