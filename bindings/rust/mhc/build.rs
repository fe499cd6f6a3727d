// The tests and examples of this crate run against the libmhc that mhc-sys linked: its directory
// (DEP_MHC_LIB_DIR, from mhc-sys's build script) goes on their rpath. A program that depends on
// mhc does the same in its own build.rs (docs/bindings_rust.md, "Using it").
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_MHC_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_MHC_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
    }
}
