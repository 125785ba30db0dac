#![doc = include_str!("../README.md")]

pub mod check;
mod host;
pub mod http;
pub mod manifest;

pub use check::{CheckReport, check_manifest};
pub use host::{ComponentStatus, Host, Progress, StartError, UpgradeError};
pub use manifest::{Manifest, ManifestError, Problem};
