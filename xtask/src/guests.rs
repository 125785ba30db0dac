//! `cargo xtask guests [--out-dir DIR]`: builds the guest components in `examples/components`.
//!
//! Steps:
//! 1. make sure the `wasm32-wasip2` rustup target is installed;
//! 2. `cargo build --release --target wasm32-wasip2 --manifest-path examples/components/Cargo.toml
//!    --target-dir <target>/guests`, where `<target>` is the main workspace's target directory
//!    (so `CARGO_TARGET_DIR` is respected);
//! 3. check that every cdylib crate of that workspace produced a component, and print its path,
//!    one per line; with `--out-dir DIR`, copy the `.wasm` files into `DIR` as well.
//!
//! The guests form their own cargo workspace (the main one excludes them) because they build for
//! another target; `cargo xtask test` runs [`build`] before the workspace tests, which load them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{test, util};

/// The guest workspace, relative to the main workspace root.
const GUESTS_MANIFEST: &str = "examples/components/Cargo.toml";

/// The first 8 bytes of a component binary: `\0asm`, then component-model version 0x0d and
/// layer 1 (a core module has version 1, layer 0).
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/// Environment variable that `cargo xtask test` sets for `cargo test`: the directory holding
/// the built guest components (`<name>.wasm`).
pub(crate) const GUEST_DIR_ENV: &str = "AIRSSYS_GUEST_DIR";

/// Parsed arguments of `cargo xtask guests`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    /// Where to copy the components, if anywhere.
    out_dir: Option<PathBuf>,
}

/// Entry point: `cargo xtask guests [--out-dir DIR]`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    let options = parse_args(args)?;
    println!("==> ensure: rustup target {}", test::WASM_TARGET);
    test::ensure_wasm_target()?;
    let components = build()?;
    if let Some(out_dir) = &options.out_dir {
        std::fs::create_dir_all(out_dir)
            .with_context(|| format!("creating {}", out_dir.display()))?;
        for component in &components {
            let file_name = component
                .file_name()
                .with_context(|| format!("{} has no file name", component.display()))?;
            let dest = out_dir.join(file_name);
            std::fs::copy(component, &dest).with_context(|| {
                format!("copying {} to {}", component.display(), dest.display())
            })?;
        }
    }
    for component in &components {
        println!("{}", component.display());
    }
    if let Some(out_dir) = &options.out_dir {
        println!(
            "guests: copied {} components to {}",
            components.len(),
            out_dir.display()
        );
    }
    Ok(())
}

fn parse_args(args: &[&str]) -> Result<Options> {
    let mut options = Options::default();
    let mut it = args.iter().copied();
    while let Some(arg) = it.next() {
        match arg {
            "--out-dir" => {
                if options.out_dir.is_some() {
                    bail!("`--out-dir` given twice");
                }
                options.out_dir = Some(PathBuf::from(util::flag_value(arg, &mut it)?));
            }
            other => bail!("`guests` does not take `{other}` (usage: guests [--out-dir DIR])"),
        }
    }
    Ok(options)
}

/// Builds every guest component (release, `wasm32-wasip2`) and returns their paths, checked to
/// be component binaries. Expects the wasm target to be installed.
///
/// # Errors
/// When the build fails, or a guest crate did not produce a component.
pub(crate) fn build() -> Result<Vec<PathBuf>> {
    let root = util::workspace_root();
    let target_dir = guests_target_dir(&main_target_dir()?);
    let manifest = root.join(GUESTS_MANIFEST);
    let manifest_arg = manifest.to_string_lossy();
    let target_dir_arg = target_dir.to_string_lossy();
    util::run_step(
        "build guest components",
        &mut util::cargo(&build_args(&manifest_arg, &target_dir_arg)),
    )?;

    let names = component_targets(&guest_metadata(&manifest)?);
    if names.is_empty() {
        bail!("{} declares no cdylib crate", manifest.display());
    }
    let dir = output_dir(&target_dir);
    names
        .iter()
        .map(|name| {
            let path = dir.join(format!("{name}.wasm"));
            check_component(&path)?;
            Ok(path)
        })
        .collect()
}

/// The directory holding the built components: `<main target dir>/guests/wasm32-wasip2/release`.
///
/// # Errors
/// When `cargo metadata` fails.
pub(crate) fn component_dir() -> Result<PathBuf> {
    Ok(output_dir(&guests_target_dir(&main_target_dir()?)))
}

/// `cargo metadata --no-deps` of the guest workspace, parsed.
fn guest_metadata(manifest: &Path) -> Result<Value> {
    let mut cmd = util::cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--manifest-path",
        &manifest.to_string_lossy(),
    ]);
    serde_json::from_str(&util::capture(&mut cmd)?)
        .context("parsing `cargo metadata` output of the guest workspace")
}

/// The `cargo build` arguments for the guest workspace.
fn build_args<'a>(manifest: &'a str, target_dir: &'a str) -> Vec<&'a str> {
    vec![
        "build",
        "--release",
        "--target",
        test::WASM_TARGET,
        "--manifest-path",
        manifest,
        "--target-dir",
        target_dir,
    ]
}

/// The main workspace's target directory (respects `CARGO_TARGET_DIR`).
pub(crate) fn main_target_dir() -> Result<PathBuf> {
    let metadata = util::metadata(true)?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

/// The target directory of the guest build, kept apart from the host build's.
fn guests_target_dir(main_target_dir: &Path) -> PathBuf {
    main_target_dir.join("guests")
}

/// Where cargo writes the release components under `guests_target_dir`.
fn output_dir(guests_target_dir: &Path) -> PathBuf {
    guests_target_dir.join(test::WASM_TARGET).join("release")
}

/// Target names (already `_`-separated, as in the `.wasm` file names) of every cdylib in the
/// guest workspace's `cargo metadata`, in manifest order.
fn component_targets(metadata: &Value) -> Vec<String> {
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter(|t| {
            t["crate_types"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "cdylib"))
        })
        .filter_map(|t| t["name"].as_str().map(|n| n.replace('-', "_")))
        .collect()
}

/// Fails unless `path` exists and starts with the component header.
fn check_component(path: &Path) -> Result<()> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading built guest {}", path.display()))?;
    if !is_component(&bytes) {
        bail!(
            "{} is not a component (it does not start with {COMPONENT_HEADER:02x?})",
            path.display()
        );
    }
    Ok(())
}

fn is_component(bytes: &[u8]) -> bool {
    bytes.starts_with(&COMPONENT_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn no_arguments_means_no_copy() {
        assert_eq!(parse_args(&[]).unwrap(), Options::default());
    }

    #[test]
    fn out_dir_takes_a_value() {
        assert_eq!(
            parse_args(&["--out-dir", "/tmp/g"]).unwrap().out_dir,
            Some(PathBuf::from("/tmp/g"))
        );
        let err = parse_args(&["--out-dir"]).unwrap_err();
        assert!(err.to_string().contains("needs a value"), "{err}");
        let err = parse_args(&["--out-dir", "a", "--out-dir", "b"]).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn unknown_argument_is_rejected() {
        let err = parse_args(&["--release"]).unwrap_err();
        assert!(err.to_string().contains("`--release`"), "{err}");
    }

    #[test]
    fn components_land_under_the_guests_target_dir() {
        let dir = output_dir(&guests_target_dir(Path::new("/t")));
        assert_eq!(dir, Path::new("/t/guests/wasm32-wasip2/release"));
    }

    #[test]
    fn build_uses_release_wasm_target_and_the_given_dirs() {
        let args = build_args("/w/examples/components/Cargo.toml", "/t/guests");
        assert_eq!(
            args,
            [
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
                "/w/examples/components/Cargo.toml",
                "--target-dir",
                "/t/guests"
            ]
        );
    }

    #[test]
    fn only_cdylib_targets_are_components() {
        let metadata = json!({ "packages": [
            { "name": "counter-v2", "targets": [
                { "name": "counter_v2", "crate_types": ["cdylib"] } ] },
            { "name": "counter-core", "targets": [
                { "name": "counter_core", "crate_types": ["lib"] } ] },
            { "name": "echo", "targets": [
                { "name": "echo", "crate_types": ["cdylib"] } ] },
        ]});
        assert_eq!(component_targets(&metadata), ["counter_v2", "echo"]);
    }

    #[test]
    fn component_header_is_told_apart_from_a_core_module() {
        assert!(is_component(&[0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 0x07]));
        assert!(!is_component(&[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
        assert!(!is_component(&[0, 0x61]));

        let dir = tempfile::tempdir().unwrap();
        let module = dir.path().join("m.wasm");
        std::fs::write(&module, [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]).unwrap();
        let err = check_component(&module).unwrap_err();
        assert!(err.to_string().contains("is not a component"), "{err}");
        assert!(check_component(&dir.path().join("missing.wasm")).is_err());
    }

    #[test]
    fn guest_workspace_declares_the_expected_components() {
        let manifest = util::workspace_root().join(GUESTS_MANIFEST);
        let names = component_targets(&guest_metadata(&manifest).unwrap());
        for expected in [
            "echo",
            "counter",
            "counter_v2",
            "counter_bad_restore",
            "counter_unhealthy",
            "pipeline_stage",
            "spin",
            "memory_bomb",
            "trap",
            "stack_overflow",
            "file_escape",
            "net_escape",
            "flooder",
            "bad_missing_export",
            "bad_unknown_import",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n == "counter_core"), "{names:?}");
    }
}
