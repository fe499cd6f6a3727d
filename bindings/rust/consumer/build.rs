// The loader setup of a binary that uses libmhc from a prefix the system does not search: the
// directory mhc-sys linked it from (DEP_MHC_LIB_DIR) goes on the binary's rpath.
fn main() {
    if let Ok(dir) = std::env::var("DEP_MHC_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
    }
}
