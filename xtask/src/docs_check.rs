//! `cargo xtask docs-check`: the documentation stays true to the tree.
//!
//! For every Markdown file of the repository (outside build directories):
//! - every relative link (`[text](path)` or `[text](path#anchor)`) names a file or directory
//!   that exists;
//! - every fenced code block preceded by the line `<!-- file: PATH -->` is, byte for byte, the
//!   content of `PATH` (relative to the workspace root). Those files are compiled, run or
//!   checked by the tests, so the block in the docs is code that works;
//! - every fenced code block names its language, one of [`LANGUAGES`], and is checked somewhere:
//!   a `rust` block is never `ignore` and is either included from a file or on a page that a
//!   crate compiles as doc tests (`#[doc = include_str!(…)]`); a `wit` block is included from
//!   a file; every `cargo xtask NAME` in an `sh` block names a command that exists.
//!
//! The other languages are checked against the real parts by `airssys-host`'s docs test
//! (`airssys-host/tests/integration/docs.rs`): `toml` through the manifest parser, `json` and
//! `yaml` parsed, `sh` through `bash -n` and the real CLI's flags, and the blocks marked
//! `<!-- run -->` run verbatim against the real binary with their shown output compared.
//!
//! It also runs as a test of xtask, so `cargo xtask test` (and CI) fail on a broken link, a
//! stale code block or an unchecked one.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::util;

/// The languages a code block may have.
pub(crate) const LANGUAGES: &[&str] = &["rust", "toml", "sh", "json", "yaml", "wit", "text"];

/// Entry point: `cargo xtask docs-check`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    util::no_args("docs-check", args)?;
    let problems = check(&util::workspace_root())?;
    if problems.is_empty() {
        println!(
            "docs-check: every link resolves, every included file matches, every code block is checked"
        );
        return Ok(());
    }
    for p in &problems {
        println!("{p}");
    }
    bail!("docs-check: {} problem(s)", problems.len())
}

fn markdown_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if entry.file_type()?.is_dir() {
                if !(name.starts_with('.') || name == "target") {
                    stack.push(path);
                }
            } else if name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every problem found under `root`, as `file:line: what`.
pub(crate) fn check(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let doc_tested = doc_tested_pages(root)?;
    for file in markdown_files(root)? {
        let text = std::fs::read_to_string(&file)?;
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let dir = file.parent().unwrap_or(root);
        check_links(&text, dir, &rel, &mut problems);
        check_includes(&text, root, &rel, &mut problems);
        let doc_tested = doc_tested.contains(&file.canonicalize()?);
        check_blocks(&text, &rel, doc_tested, &mut problems);
    }
    Ok(problems)
}

/// The Markdown files that some crate's `src/lib.rs` includes as documentation (so their Rust
/// blocks are doc tests).
fn doc_tested_pages(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let lib = entry?.path().join("src/lib.rs");
        let Ok(text) = std::fs::read_to_string(&lib) else {
            continue;
        };
        let mut rest = text.as_str();
        while let Some(at) = rest.find("include_str!(\"") {
            rest = &rest[at + 14..];
            let Some(end) = rest.find('"') else { break };
            let page = &rest[..end];
            if page.ends_with(".md")
                && let Some(dir) = lib.parent()
                && let Ok(path) = dir.join(page).canonicalize()
            {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// The `cargo xtask` commands (from the usage text).
fn xtask_commands() -> Vec<&'static str> {
    crate::USAGE
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

fn check_blocks(text: &str, rel: &str, doc_tested: bool, problems: &mut Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let commands = xtask_commands();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let at = format!("{rel}:{}", i + 1);
        let included = i > 0 && lines[i - 1].trim().starts_with("<!-- file:");
        let mut tags = info.split(',').map(str::trim);
        let lang = tags.next().unwrap_or("");
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_start().starts_with("```"))
            .unwrap_or(lines.len());
        if !LANGUAGES.contains(&lang) {
            problems.push(format!(
                "{at}: a code block needs one of the languages {LANGUAGES:?} (found {lang:?})"
            ));
        }
        match lang {
            "rust" if tags.any(|t| t == "ignore") => problems.push(format!(
                "{at}: an `ignore` Rust block is never compiled (use no_run)"
            )),
            "rust" if !included && !doc_tested => problems.push(format!(
                "{at}: this Rust block is never compiled: include the file it shows \
                 (`<!-- file: -->`) or the page in a crate's doc tests"
            )),
            "wit" if !included => problems.push(format!(
                "{at}: a WIT block must be included from its file (`<!-- file: -->`)"
            )),
            "sh" => {
                for line in &lines[i + 1..end] {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    if let ["cargo", "xtask", name, ..] = words.as_slice()
                        && !commands.contains(name)
                    {
                        problems.push(format!("{at}: `cargo xtask {name}` is not a command"));
                    }
                }
            }
            _ => {}
        }
        i = end + 1;
    }
}

fn check_links(text: &str, dir: &Path, rel: &str, problems: &mut Vec<String>) {
    let mut in_code = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            let target = &after[..end];
            rest = &after[end..];
            let path = target.split('#').next().unwrap_or("");
            // Rustdoc paths (`crate::Type`) in READMEs that are also crate docs are not files.
            if path.is_empty()
                || target.contains("://")
                || target.contains("::")
                || target.starts_with("mailto:")
            {
                continue;
            }
            if !dir.join(path).exists() {
                problems.push(format!("{rel}:{}: broken link to {target}", i + 1));
            }
        }
    }
}

fn check_includes(text: &str, root: &Path, rel: &str, problems: &mut Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(path) = line
            .trim()
            .strip_prefix("<!-- file:")
            .and_then(|r| r.strip_suffix("-->"))
            .map(str::trim)
        else {
            continue;
        };
        let Some(open) = lines.get(i + 1).filter(|l| l.starts_with("```")) else {
            problems.push(format!(
                "{rel}:{}: `<!-- file: {path} -->` is not followed by a code block",
                i + 1
            ));
            continue;
        };
        let _ = open;
        let body: Vec<&str> = lines[i + 2..]
            .iter()
            .take_while(|l| !l.starts_with("```"))
            .copied()
            .collect();
        let block = body.join("\n");
        match std::fs::read_to_string(root.join(path)) {
            Ok(content) if content.trim_end() == block.trim_end() => {}
            Ok(_) => problems.push(format!(
                "{rel}:{}: the code block differs from {path} (copy the file into the docs again)",
                i + 1
            )),
            Err(e) => problems.push(format!("{rel}:{}: cannot read {path}: {e}", i + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_docs_have_no_broken_link_and_no_stale_include() {
        let problems = check(&util::workspace_root()).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_broken_link_and_a_stale_include_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("code.rs"), "fn main() {}\n").unwrap();
        std::fs::write(
            dir.path().join("doc.md"),
            "see [x](missing.md) and [ok](code.rs#top) and [web](https://example.invalid)\n\
             <!-- file: code.rs -->\n```rust\nfn main() { changed }\n```\n\
             <!-- file: code.rs -->\n```rust\nfn main() {}\n```\n",
        )
        .unwrap();
        let problems = check(dir.path()).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("broken link to missing.md"));
        assert!(problems[1].contains("differs from code.rs"));
    }

    #[test]
    fn unchecked_code_blocks_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("krate/src")).unwrap();
        std::fs::write(
            dir.path().join("krate/src/lib.rs"),
            "#![doc = include_str!(\"../../tested.md\")]\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("tested.md"), "```rust\nfn f() {}\n```\n").unwrap();
        std::fs::write(
            dir.path().join("doc.md"),
            "```\nno language\n```\n```rust\nfn f() {}\n```\n```rust,ignore\nfn f() {}\n```\n\
             ```wit\npackage a:b;\n```\n```sh\ncargo xtask demo\ncargo xtask nope\n```\n",
        )
        .unwrap();
        let problems = check(dir.path()).unwrap();
        let expected = [
            "doc.md:1: a code block needs one of the languages",
            "doc.md:4: this Rust block is never compiled",
            "doc.md:7: an `ignore` Rust block is never compiled",
            "doc.md:10: a WIT block must be included",
            "doc.md:13: `cargo xtask nope` is not a command",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        for (p, e) in problems.iter().zip(expected) {
            assert!(p.starts_with(e), "{p:?} should start with {e:?}");
        }
    }
}
