//! docs/bindings_rust.md shows examples/quickstart.rs verbatim, after the marker line
//! `<!-- example: bindings/rust/mhc/examples/quickstart.rs -->`. This test keeps the two equal; cargo
//! test compiles the example and run_test.sh runs it, so the page's code is compiled and run.
use std::path::Path;

#[test]
fn the_doc_page_shows_the_quickstart_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page_path = root.join("../../../docs/bindings_rust.md");
    let page = std::fs::read_to_string(&page_path).unwrap_or_else(|e| panic!("{}: {}", page_path.display(), e));
    let source = std::fs::read_to_string(root.join("examples/quickstart.rs")).unwrap();
    let marker = "<!-- example: bindings/rust/mhc/examples/quickstart.rs -->";
    let after = page.split(marker).nth(1).unwrap_or_else(|| panic!("{} has no line {}", page_path.display(), marker));
    let mut lines = after.lines().skip_while(|l| l.trim().is_empty());
    assert_eq!(lines.next(), Some("```rust"), "the marker must be followed by a ```rust block");
    let block: Vec<&str> = lines.take_while(|l| *l != "```").collect();
    let block = block.join("\n") + "\n";
    assert!(block == source, "the block after the marker in {} differs from examples/quickstart.rs: copy the file into the page", page_path.display());
}
