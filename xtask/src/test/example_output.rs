//! The output an example's section of `examples/README.md` shows, checked against what the
//! example printed.
//!
//! A section starts at the heading ``## `<name>` `` and shows its output in the first `text`
//! code block after the heading. The block is trimmed: a line `...` stands for lines left out.
//! Every other non-empty line of the block must be a line the example printed (compared without
//! trailing whitespace, each printed line used at most once). Order is not checked: several
//! examples print from concurrent actors, and the README says where their order may vary.

/// The lines the README shows for `name`, without `...` and empty lines; `None` if it has no
/// such section or the section has no `text` block.
pub(crate) fn shown_lines(readme: &str, name: &str) -> Option<Vec<String>> {
    let heading = format!("## `{name}`");
    let mut lines = readme.lines();
    lines.by_ref().find(|l| l.trim_end() == heading)?;
    let mut in_block = false;
    let mut shown = Vec::new();
    for line in lines {
        if !in_block {
            if line.starts_with("## ") {
                return None;
            }
            if line.trim_end() == "```text" {
                in_block = true;
            }
            continue;
        }
        if line.trim_end() == "```" {
            return Some(shown);
        }
        let line = line.trim_end();
        if !line.is_empty() && line.trim() != "..." {
            shown.push(line.to_owned());
        }
    }
    None
}

/// The shown lines that the example did not print (each printed line matches at most one).
pub(crate) fn missing<'a>(shown: &'a [String], printed: &[String]) -> Vec<&'a str> {
    let mut unused: Vec<&str> = printed.iter().map(|l| l.trim_end()).collect();
    let mut missing = Vec::new();
    for line in shown {
        match unused.iter().position(|p| *p == line.as_str()) {
            Some(i) => {
                unused.swap_remove(i);
            }
            None => missing.push(line.as_str()),
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "# Examples\n\n## `alpha`\n\nText.\n\nOutput (trimmed):\n\n```text\n== one ==\n  a\n...\n  b\n\n  b\nalpha: OK\n```\n\n## `beta`\n\nNo block here.\n\n## `gamma`\n\n```rust\nfn main() {}\n```\n\n```text\ngamma: OK\n```\n";

    fn owned(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn the_block_of_a_section_is_read_without_elisions_and_blank_lines() {
        assert_eq!(
            shown_lines(README, "alpha"),
            Some(owned(&["== one ==", "  a", "  b", "  b", "alpha: OK"]))
        );
        // The first `text` block after the heading, past other blocks.
        assert_eq!(shown_lines(README, "gamma"), Some(owned(&["gamma: OK"])));
    }

    #[test]
    fn a_section_without_a_text_block_or_no_section_gives_none() {
        assert_eq!(shown_lines(README, "beta"), None);
        assert_eq!(shown_lines(README, "delta"), None);
    }

    #[test]
    fn every_shown_line_must_be_printed_as_often_as_shown() {
        let shown = shown_lines(README, "alpha").unwrap_or_default();
        let printed = owned(&["== one ==", "  a", "  x", "  b   ", "  b", "alpha: OK"]);
        assert!(missing(&shown, &printed).is_empty());
        let once = owned(&["== one ==", "  a", "  b", "alpha: OK"]);
        assert_eq!(missing(&shown, &once), vec!["  b"]);
        let changed = owned(&["== one ==", "  a!", "  b", "  b", "alpha: OK"]);
        assert_eq!(missing(&shown, &changed), vec!["  a"]);
    }
}
