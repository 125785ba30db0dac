//! `airssys check`: validates a manifest and loads every component against the
//! `airssys:component` world, collecting every problem.

use std::path::{Path, PathBuf};

use airssys_wasm::{EngineConfig, WasmEngine};

use crate::manifest::{Manifest, Problem};

/// What `check` found.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckReport {
    /// The manifest file.
    pub path: PathBuf,
    /// Components that were loaded and implement the world.
    pub components_ok: Vec<String>,
    /// Every problem, in manifest order; empty when the manifest can be run.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// `true` when there is nothing wrong.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the manifest at `path`: its shape, every field, every capability entry, that each
/// component file exists, compiles, and implements the `airssys:component` world with only
/// imports the host provides.
#[must_use]
pub fn check_manifest(path: &Path) -> CheckReport {
    let mut report = CheckReport {
        path: path.to_path_buf(),
        ..CheckReport::default()
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report.problems.push(Problem::new(
                None,
                "",
                format!("cannot read the manifest: {e}"),
            ));
            return report;
        }
    };
    let base = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let (manifest, mut problems) = Manifest::parse_lenient(&text, &base, path);
    if !manifest.components.is_empty() {
        // The engine `run` would build, so a `cache_dir` shared with `run` is used (and
        // filled) by `check` too: the cache key includes the engine's configuration.
        let mut config = EngineConfig::default().with_max_instances(manifest.host.max_instances);
        if let Some(dir) = &manifest.host.cache_dir {
            config = config.with_cache_dir(dir);
        }
        match WasmEngine::new(config) {
            Ok(engine) => {
                for c in &manifest.components {
                    match engine.load_file(&c.wasm) {
                        Ok(_) => report.components_ok.push(c.id.clone()),
                        Err(e) => problems.push(Problem::new(
                            Some(&c.id),
                            "wasm",
                            format!("{}: {}", c.wasm.display(), error_chain(&e)),
                        )),
                    }
                }
            }
            Err(e) => problems.push(Problem::new(
                None,
                "",
                format!("cannot create the WebAssembly engine: {}", error_chain(&e)),
            )),
        }
    }
    report.problems = problems;
    report
}

/// An error and its sources, joined with `: `.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
