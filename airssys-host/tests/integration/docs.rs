//! The documentation's code blocks, checked against the real parts they describe.
//!
//! Every fenced block in every Markdown file of the repository is checked by its language:
//! - `toml`: a Cargo snippet (it has `[dependencies]` or `[package]`) must parse and name only
//!   crates and features that exist; anything else is a manifest or a fragment of one and must
//!   pass the real manifest parser ([`Manifest::parse`]) — a fragment that starts inside a
//!   component (`[component.limits]`, `max_restarts = 5`) is checked inside a minimal
//!   `[[component]]`.
//! - `json`: must parse; `yaml`: must parse.
//! - `sh`: must pass `bash -n`, and every `airssys …` (or `cargo run -p airssys-host -- …`) and
//!   `nats-server …` line may use only subcommands and flags the real program accepts; so may a
//!   `text` block made only of `airssys …` lines (a usage synopsis).
//! - `sh` blocks preceded by `<!-- run -->` run verbatim, in page order, against the real
//!   binary: see [`run_page`].
//!
//! `rust` blocks are doc tests of the crate that includes the page; `wit` and `<!-- file: -->`
//! blocks are checked by `cargo xtask docs-check`; `text` blocks are program output or
//! diagrams, and those preceded by `<!-- output -->` are compared with the output of the
//! command that runs just before them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use airssys_host::Manifest;

use super::support::{HostProcess, airssys, guest_dir, workspace_root};

/// One fenced code block.
#[derive(Debug)]
struct Block {
    file: String,
    line: usize,
    lang: String,
    /// The HTML comment on the line before the fence, if any (`run`, `output`, `file: …`).
    marker: Option<String>,
    body: String,
}

impl Block {
    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

fn markdown_files() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                if !(name.starts_with('.') || name == "target") {
                    stack.push(entry.path());
                }
            } else if name.ends_with(".md") {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

fn blocks_of(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path
        .strip_prefix(workspace_root())
        .unwrap()
        .display()
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let marker = i
            .checked_sub(1)
            .map(|p| lines[p].trim())
            .and_then(|l| l.strip_prefix("<!--")?.strip_suffix("-->"))
            .map(|m| m.trim().to_owned());
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_start().starts_with("```"))
            .unwrap_or_else(|| panic!("{file}:{}: unclosed code block", i + 1));
        out.push(Block {
            file: file.clone(),
            line: i + 1,
            lang: info.split(',').next().unwrap_or("").trim().to_owned(),
            marker,
            body: lines[i + 1..end].join("\n") + "\n",
        });
        i = end + 1;
    }
    out
}

fn all_blocks() -> Vec<Block> {
    markdown_files().iter().flat_map(|f| blocks_of(f)).collect()
}

fn is_included(b: &Block) -> bool {
    b.marker.as_deref().is_some_and(|m| m.starts_with("file:"))
}

// ---------------------------------------------------------------------------------------------
// toml, json, yaml

/// The workspace's crates and the features each declares.
fn workspace_crates() -> Vec<(String, BTreeSet<String>)> {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let ws: toml::Table = toml::from_str(&text).unwrap();
    ws["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let text =
                std::fs::read_to_string(root.join(m.as_str().unwrap()).join("Cargo.toml")).unwrap();
            let t: toml::Table = toml::from_str(&text).unwrap();
            let name = t["package"]["name"].as_str().unwrap().to_owned();
            let features = t
                .get("features")
                .and_then(|f| f.as_table())
                .map(|f| f.keys().cloned().collect())
                .unwrap_or_default();
            (name, features)
        })
        .collect()
}

fn check_cargo_snippet(b: &Block, problems: &mut Vec<String>) {
    let table: toml::Table = match toml::from_str(&unindent(&b.body)) {
        Ok(t) => t,
        Err(e) => return problems.push(format!("{}: not valid TOML: {e}", b.at())),
    };
    let crates = workspace_crates();
    let Some(deps) = table.get("dependencies").and_then(|d| d.as_table()) else {
        return;
    };
    for (name, spec) in deps {
        if !name.starts_with("airssys") {
            continue;
        }
        let Some((_, features)) = crates.iter().find(|(n, _)| n == name) else {
            problems.push(format!("{}: no workspace crate is called {name}", b.at()));
            continue;
        };
        if let Some(path) = spec.get("path").and_then(|p| p.as_str())
            && !workspace_root().join(path).join("Cargo.toml").is_file()
        {
            problems.push(format!("{}: {name}: no crate at path {path:?}", b.at()));
        }
        for f in spec
            .get("features")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
        {
            let f = f.as_str().unwrap_or_default();
            if !features.contains(f) {
                problems.push(format!("{}: {name} has no feature {f:?}", b.at()));
            }
        }
    }
}

fn unindent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A manifest (or a fragment of one, completed into a minimal manifest) through the real parser.
fn check_manifest_snippet(b: &Block, problems: &mut Vec<String>) {
    let first = b
        .body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    let starts_in_component = first.starts_with("[component.") || !first.starts_with('[');
    const MINIMAL: &str = "[[component]]\nid = \"doc\"\nwasm = \"doc.wasm\"\n";
    let text = if starts_in_component {
        format!("{MINIMAL}{}", b.body)
    } else if !b.body.contains("[[component]]") {
        format!("{}\n{MINIMAL}", b.body)
    } else {
        b.body.clone()
    };
    // The parser checks that component files exist; the docs name made-up ones.
    let dir = tempfile::tempdir().unwrap();
    let parsed: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => return problems.push(format!("{}: not valid TOML: {e}", b.at())),
    };
    for c in parsed
        .get("component")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(wasm) = c.get("wasm").and_then(|w| w.as_str())
            && let Ok(wasm) = airssys_host::manifest::expand_env(wasm)
            && Path::new(&wasm).is_relative()
        {
            let file = dir.path().join(wasm);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, b"").unwrap();
        }
    }
    let path = dir.path().join("manifest.toml");
    if let Err(found) = Manifest::parse(&text, dir.path(), &path) {
        let found: Vec<String> = found.iter().map(ToString::to_string).collect();
        problems.push(format!(
            "{}: the manifest parser refuses this block: {}",
            b.at(),
            found.join("; ")
        ));
    }
}

#[test]
fn every_toml_block_is_a_valid_manifest_or_cargo_snippet() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for b in all_blocks() {
        if b.lang != "toml" || is_included(&b) {
            continue;
        }
        checked += 1;
        if b.body.contains("[dependencies]") || b.body.contains("[package]") {
            check_cargo_snippet(&b, &mut problems);
        } else {
            check_manifest_snippet(&b, &mut problems);
        }
    }
    assert!(checked > 10, "found only {checked} toml blocks");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_json_and_yaml_block_parses() {
    let mut problems = Vec::new();
    for b in all_blocks() {
        match b.lang.as_str() {
            "json" => {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(&b.body) {
                    problems.push(format!("{}: not valid JSON: {e}", b.at()));
                }
            }
            "yaml" => {
                if let Err(e) = yaml_rust2::YamlLoader::load_from_str(&b.body) {
                    problems.push(format!("{}: not valid YAML: {e}", b.at()));
                }
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// sh

/// The block's commands: comment lines dropped, `\` continuations joined, each with the
/// full-line `# …` comments that follow it (its expected output).
fn commands(body: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut pending = String::new();
    for line in body.lines() {
        let t = line.trim();
        if pending.is_empty() {
            if let Some(c) = t.strip_prefix('#') {
                if let Some((_, expected)) = out.last_mut() {
                    expected.push(c.strip_prefix(' ').unwrap_or(c).to_owned());
                }
                continue;
            }
            if t.is_empty() {
                // A blank line ends the expected output of the command before it.
                out.push((String::new(), Vec::new()));
                continue;
            }
        }
        if let Some(part) = t.strip_suffix('\\') {
            pending.push_str(part);
            pending.push(' ');
        } else {
            pending.push_str(t);
            out.push((std::mem::take(&mut pending), Vec::new()));
        }
    }
    out.retain(|(c, _)| !c.is_empty());
    out
}

/// The words of a command line up to its first shell operator or comment.
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in command.split_whitespace() {
        if w.starts_with('#') || ["|", "&", "&&", ";", ">", "2>&1"].contains(&w) {
            break;
        }
        out.push(
            w.trim_matches(|c| c == '"' || c == '\'' || c == '[' || c == ']')
                .to_owned(),
        );
    }
    out
}

/// The arguments after `airssys` in a line that runs the binary.
fn airssys_args(words: &[String]) -> Option<Vec<String>> {
    match words.first().map(String::as_str) {
        Some("airssys") => Some(words[1..].to_vec()),
        Some("cargo") if words.iter().any(|w| w == "airssys-host") => {
            let dashes = words.iter().position(|w| w == "--")?;
            Some(words[dashes + 1..].to_vec())
        }
        _ => None,
    }
}

/// The flags `program args… --help` lists.
fn help_text(program: &mut Command) -> String {
    let out = program.arg("--help").output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn check_flags(b: &Block, line: &str, words: &[String], help: &str, problems: &mut Vec<String>) {
    for w in words.iter().filter(|w| w.starts_with('-')) {
        let flag = w.split('=').next().unwrap_or(w);
        let listed = help
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '=')
            .any(|t| t == flag);
        if !listed {
            problems.push(format!(
                "{}: `{line}`: {flag} is not a flag it accepts",
                b.at()
            ));
        }
    }
}

#[test]
fn every_shell_block_parses_and_uses_real_commands() {
    let mut problems = Vec::new();
    let mut commands_checked = 0;
    let nats = Command::new("nats-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    for b in all_blocks() {
        // A usage synopsis (`airssys run MANIFEST [--listen ADDR]`) is checked for its flags.
        let synopsis = b.lang == "text"
            && b.body
                .lines()
                .all(|l| l.trim().is_empty() || l.starts_with("airssys "));
        if b.lang != "sh" && !synopsis {
            continue;
        }
        let syntax = Command::new("bash")
            .args(["-n", "-c", &b.body])
            .output()
            .unwrap();
        if !synopsis && !syntax.status.success() {
            problems.push(format!(
                "{}: bash -n: {}",
                b.at(),
                String::from_utf8_lossy(&syntax.stderr).trim()
            ));
        }
        for (line, _) in commands(&b.body) {
            let words = words(&line);
            if let Some(args) = airssys_args(&words) {
                commands_checked += 1;
                // The subcommand path is the words before the first argument that is a flag or
                // a file (`audit verify`, `run`, `check`).
                let sub: Vec<&str> = args
                    .iter()
                    .map(String::as_str)
                    .take_while(|w| {
                        !w.starts_with('-')
                            && !w.contains('.')
                            && !w.contains('/')
                            && w.chars().any(|c| c.is_ascii_lowercase())
                    })
                    .collect();
                let mut cmd = airssys();
                cmd.args(&sub);
                let help = help_text(&mut cmd);
                if help.contains("unrecognized subcommand") || sub.is_empty() {
                    problems.push(format!("{}: `{line}`: no such airssys command", b.at()));
                    continue;
                }
                check_flags(&b, &line, &args, &help, &mut problems);
            } else if words.first().is_some_and(|w| w == "nats-server") && nats {
                commands_checked += 1;
                let help = help_text(&mut Command::new("nats-server"));
                check_flags(&b, &line, &words[1..], &help, &mut problems);
            }
        }
    }
    assert!(
        commands_checked > 5,
        "found only {commands_checked} commands"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Pages that run

/// Whether `actual` matches one expected line: `...` in `expected` stands for any text.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("...").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let mut rest = actual;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// Whether `actual` (lines) is what the docs show: line by line, where a line `...` stands for
/// any number of lines.
fn output_matches(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e.trim() == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((e, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(e, a) && output_matches(rest, more)),
    }
}

/// State of one page being run.
struct Session {
    host: Option<HostProcess>,
    /// What the last command printed (for an `<!-- output -->` block after it).
    last_output: Vec<String>,
}

impl Session {
    /// The command line with the docs' address replaced by the running host's.
    fn localize(&self, line: &str) -> String {
        match &self.host {
            Some(h) => line.replace("http://127.0.0.1:8080", &h.base),
            None => line.to_owned(),
        }
    }

    fn start_host(&mut self, manifest: &str, flags: &[String]) {
        self.host = None;
        let host = HostProcess::start_with(&workspace_root().join(manifest), flags);
        // What the docs' reader sees: their address, not the test's free port.
        self.last_output = host
            .stdout()
            .iter()
            .map(|l| l.replace(&host.base, "http://127.0.0.1:8080"))
            .collect();
        self.host = Some(host);
    }

    /// Runs one command of the page and returns what it printed.
    fn run(&mut self, at: &str, line: &str) -> Option<Vec<String>> {
        let words = words(line);
        if words.len() >= 2 && words[0] == "cargo" && words[1] == "xtask" {
            match words.get(2).map(String::as_str) {
                // `cargo xtask demo` is `airssys run examples/host/demo.toml` in release.
                Some("demo") => {
                    self.start_host("examples/host/demo.toml", &[]);
                    return None;
                }
                // These are what got this test here: the guests are built
                // (`support::guest_dir`) and the tests are running.
                Some("guests" | "test") => return None,
                other => panic!("{at}: `{line}`: the page runner does not know xtask {other:?}"),
            }
        }
        if let Some(args) = airssys_args(&words) {
            if args.first().is_some_and(|a| a == "run") {
                let manifest = args.get(1).unwrap_or_else(|| panic!("{at}: no manifest"));
                self.start_host(manifest, &args[2..]);
                return None;
            }
            let out = airssys()
                .args(&args)
                .current_dir(workspace_root())
                .env("AIRSSYS_GUEST_DIR", guest_dir())
                .output()
                .unwrap();
            return Some(lines(&out.stdout));
        }
        let out = Command::new("bash")
            .args(["-c", &self.localize(line)])
            .current_dir(workspace_root())
            .env("AIRSSYS_GUEST_DIR", guest_dir())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Some(lines(&out.stdout))
    }
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs the `<!-- run -->` blocks of `page` in order. Each command's output must be what the
/// `# …` lines under it show (when it shows any); `airssys run MANIFEST` (or `cargo xtask
/// demo`) starts the real binary on a free port, which then stands in for
/// `http://127.0.0.1:8080` in later commands.
fn run_page(page: &str) -> usize {
    let blocks = blocks_of(&workspace_root().join(page));
    let mut session = Session {
        host: None,
        last_output: Vec::new(),
    };
    let mut ran = 0;
    for b in &blocks {
        match (b.lang.as_str(), b.marker.as_deref()) {
            ("sh", Some("run")) => {
                for (line, expected) in commands(&b.body) {
                    ran += 1;
                    let Some(actual) = session.run(&b.at(), &line) else {
                        continue;
                    };
                    if !expected.is_empty() {
                        assert!(
                            output_matches(&expected, &actual),
                            "{}: `{line}` printed\n{}\nbut the page shows\n{}",
                            b.at(),
                            actual.join("\n"),
                            expected.join("\n")
                        );
                    }
                    session.last_output = actual;
                }
            }
            ("text", Some("output")) => {
                let expected: Vec<String> = b.body.lines().map(str::to_owned).collect();
                assert!(
                    output_matches(&expected, &session.last_output),
                    "{}: the command before printed\n{}\nbut the page shows\n{}",
                    b.at(),
                    session.last_output.join("\n"),
                    expected.join("\n")
                );
            }
            _ => {}
        }
    }
    if let Some(host) = session.host.as_mut() {
        host.sigterm();
        assert!(host.wait(Duration::from_secs(30)).success());
    }
    ran
}

#[test]
fn the_readme_runs_as_written() {
    assert!(run_page("README.md") >= 5);
}

#[test]
fn the_tutorial_runs_as_written() {
    assert!(run_page("docs/tutorials/first-component.md") >= 8);
}

#[test]
fn every_page_that_shows_a_session_is_run() {
    let runs: BTreeSet<String> = all_blocks()
        .into_iter()
        .filter(|b| b.marker.as_deref() == Some("run"))
        .map(|b| b.file)
        .collect();
    let run_here: BTreeSet<String> = ["README.md", "docs/tutorials/first-component.md"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        runs, run_here,
        "a page with `<!-- run -->` blocks needs its own test here"
    );
}

#[test]
fn output_matching_follows_the_docs_conventions() {
    let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert!(output_matches(&v(&["a", "..."]), &v(&["a", "b", "c"])));
    assert!(output_matches(&v(&["a ... c"]), &v(&["a b c"])));
    assert!(!output_matches(&v(&["a ... c"]), &v(&["a b d"])));
    assert!(!output_matches(&v(&["a"]), &v(&["a", "b"])));
    assert!(!output_matches(&v(&["a", "b"]), &v(&["a"])));
    assert!(output_matches(&v(&["...", "z"]), &v(&["x", "y", "z"])));
    assert_eq!(
        commands("curl x   # note\n# out 1\n# out 2\n\ncurl \\\n  y\n"),
        vec![
            ("curl x   # note".to_owned(), v(&["out 1", "out 2"])),
            ("curl  y".to_owned(), vec![]),
        ]
    );
}
