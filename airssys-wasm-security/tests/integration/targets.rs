//! `CapabilitySet::file_target`: where an allowed file operation opens its file, beneath the
//! granting directory; the same denials as `check_file_resolved`.

use std::path::{Path, PathBuf};

use airssys_wasm_security::{CapabilitySet, DenyReason, FileAccess};

struct Tree {
    _dir: tempfile::TempDir,
    /// Canonical: the temp dir may sit behind a symlink (`/tmp` on some systems).
    root: PathBuf,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("temp dir: {e}"));
    let root = std::fs::canonicalize(dir.path()).unwrap_or_else(|e| unreachable!("{e}"));
    for d in ["in", "out/sub", "outside"] {
        std::fs::create_dir_all(root.join(d)).unwrap_or_else(|e| unreachable!("{e}"));
    }
    std::fs::write(root.join("in/a.txt"), b"a").unwrap_or_else(|e| unreachable!("{e}"));
    std::fs::write(root.join("outside/secret.txt"), b"s").unwrap_or_else(|e| unreachable!("{e}"));
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("outside"), root.join("in/link"))
        .unwrap_or_else(|e| unreachable!("{e}"));
    Tree { _dir: dir, root }
}

fn caps(t: &Tree) -> CapabilitySet {
    CapabilitySet::builder()
        .read_dir(t.root.join("in"))
        .read_write_dir(t.root.join("out"))
        .build()
        .unwrap_or_else(|e| unreachable!("{e}"))
}

#[test]
fn an_allowed_file_is_opened_beneath_its_granting_directory() {
    let t = tree();
    let caps = caps(&t);
    let target = caps
        .file_target(&t.root.join("in/a.txt"), FileAccess::Read)
        .unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(target.root(), t.root.join("in"));
    assert_eq!(target.relative(), Path::new("a.txt"));
    // A file not created yet, in a subdirectory of a read-write grant; `..` resolved first.
    let target = caps
        .file_target(&t.root.join("out/sub/../sub/new.txt"), FileAccess::Write)
        .unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(target.root(), t.root.join("out"));
    assert_eq!(target.relative(), Path::new("sub/new.txt"));
}

#[test]
fn denials_are_those_of_the_resolved_check() {
    let t = tree();
    let caps = caps(&t);
    let cases = [
        (t.root.join("outside/secret.txt"), FileAccess::Read),
        (t.root.join("in/a.txt"), FileAccess::Write),
        (t.root.join("in/../outside/secret.txt"), FileAccess::Read),
        #[cfg(unix)]
        (t.root.join("in/link/secret.txt"), FileAccess::Read),
    ];
    for (path, access) in cases {
        let target = caps.file_target(&path, access);
        let decision = caps.check_file_resolved(&path, access);
        assert!(decision.is_denied(), "{}", path.display());
        assert_eq!(
            target.err().as_ref(),
            decision.reason(),
            "{}",
            path.display()
        );
    }
    assert_eq!(
        caps.file_target(&t.root.join("in/a.txt"), FileAccess::Write)
            .err(),
        Some(DenyReason::ReadOnly)
    );
}

#[test]
fn a_grant_that_names_a_file_opens_it_from_its_directory() {
    let t = tree();
    let caps = CapabilitySet::builder()
        .read_dir(t.root.join("in/a.txt"))
        .build()
        .unwrap_or_else(|e| unreachable!("{e}"));
    let target = caps
        .file_target(&t.root.join("in/a.txt"), FileAccess::Read)
        .unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(target.root(), t.root.join("in"));
    assert_eq!(target.relative(), Path::new("a.txt"));
}
