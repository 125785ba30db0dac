//! `cargo xtask docs-check`: the documentation stays true to the tree.
//!
//! For every Markdown file of the repository (outside build directories):
//! - every relative link (`[text](path)` or `[text](path#anchor)`) names a file or directory
//!   that exists;
//! - every fenced code block preceded by the line `<!-- file: PATH -->` is, byte for byte, the
//!   content of `PATH` (relative to the workspace root). Those files are compiled, run or
//!   checked by the tests, so the block in the docs is code that works.
//!
//! It also runs as a test of xtask, so `cargo xtask test` (and CI) fail on a broken link or a
//! stale code block.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::util;

/// Entry point: `cargo xtask docs-check`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    util::no_args("docs-check", args)?;
    let problems = check(&util::workspace_root())?;
    if problems.is_empty() {
        println!("docs-check: every link resolves and every included file matches");
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
    }
    Ok(problems)
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
}
