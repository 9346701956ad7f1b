//! The generated pictures of the table can never drift from the code: the
//! README's diagram and `docs/table.md` must equal what the table renders
//! now. Run with `TASKSTATE_BLESS=1` to rewrite them after changing the
//! table.

use std::fs;
use std::path::Path;

use taskstate::table;

const START: &str = "<!-- generated: table::mermaid() -->\n```mermaid\n";
const END: &str = "```\n<!-- end generated -->";

fn bless() -> bool {
    std::env::var_os("TASKSTATE_BLESS").is_some()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn readme_diagram_is_the_generated_one() {
    let path = root().join("README.md");
    let readme = fs::read_to_string(&path).expect("README.md is readable");
    let start = readme
        .find(START)
        .expect("README.md has the diagram start marker")
        + START.len();
    let end = start
        + readme[start..]
            .find(END)
            .expect("README.md has the diagram end marker");
    let generated = table::mermaid();
    if bless() {
        let updated = format!("{}{}{}", &readme[..start], generated, &readme[end..]);
        fs::write(&path, updated).expect("README.md is writable");
        return;
    }
    assert_eq!(
        &readme[start..end],
        generated,
        "README.md's diagram is stale: rerun with TASKSTATE_BLESS=1"
    );
}

#[test]
fn docs_table_is_the_generated_one() {
    let path = root().join("docs/table.md");
    let generated = table::markdown();
    if bless() {
        fs::write(&path, &generated).expect("docs/table.md is writable");
        return;
    }
    let current = fs::read_to_string(&path).expect("docs/table.md is readable");
    assert_eq!(
        current, generated,
        "docs/table.md is stale: rerun with TASKSTATE_BLESS=1"
    );
}
