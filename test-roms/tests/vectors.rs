//! The generated expected-result tables (`vectors/*.inc`) must match what
//! `tools/gen_vectors.py` produces from its SDM model today.

use std::process::Command;

#[test]
fn vector_tables_are_up_to_date() {
    let dir = crane86_test_roms::crate_dir();
    let Some(python) = crane86_test_roms::find_program("python3") else {
        eprintln!("python3 not found: skipping the vector-table freshness check");
        return;
    };
    let out = Command::new(python)
        .arg(dir.join("tools/gen_vectors.py"))
        .arg("--check")
        .output()
        .expect("cannot run tools/gen_vectors.py");
    assert!(
        out.status.success(),
        "vectors/*.inc are stale; run `python3 test-roms/tools/gen_vectors.py`\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
