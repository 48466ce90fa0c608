//! The committed `bios.bin` and `demo.img` must be what the sources
//! assemble to. Needs `nasm`: without it the test fails under CI (env `CI`
//! set) and is skipped with a note elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

const NASM_MISSING: &str = "nasm not found: install it (apt-get install nasm)";

fn nasm_available() -> bool {
    match Command::new("nasm").arg("-v").output() {
        Ok(out) => out.status.success(),
        Err(_) => false,
    }
}

/// Assembles `source` (with `include_dir` on the include path) to `out`,
/// exactly as scripts/build-firmware.sh does.
fn assemble(include_dir: &Path, source: &Path, out: &Path) {
    let mut inc = include_dir.as_os_str().to_owned();
    inc.push("/");
    let result = Command::new("nasm")
        .args(["-f", "bin", "-I"])
        .arg(&inc)
        .arg("-o")
        .arg(out)
        .arg(source)
        .output()
        .expect("running nasm");
    assert!(
        result.status.success(),
        "nasm failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn committed_images_match_their_sources() {
    if !nasm_available() {
        if std::env::var_os("CI").is_some() {
            panic!("{NASM_MISSING}");
        }
        eprintln!("note: {NASM_MISSING}; not checking that bios.bin and demo.img are up to date");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("firmware-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();

    for (dir, source, committed, name) in [
        ("bios", "bios.asm", "bios.bin", "BIOS"),
        ("demo", "demo.asm", "demo.img", "demo disk"),
    ] {
        let out = tmp.join(committed);
        assemble(&root.join(dir), &root.join(dir).join(source), &out);
        let fresh = std::fs::read(&out).unwrap();
        let stored = std::fs::read(root.join(committed)).unwrap();
        assert!(
            fresh == stored,
            "firmware/{committed} is stale: the {name} sources assemble to different bytes; \
             run scripts/build-firmware.sh and commit the result"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
