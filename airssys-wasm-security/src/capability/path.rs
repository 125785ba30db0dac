//! File grants: lexical and symlink-aware path checks.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{CapabilityError, Decision, DenyReason};

/// What a file grant allows under its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FilePermission {
    /// Read files and list directories. Written `read` in a manifest.
    Read,
    /// Read, create, write and remove. Written `read-write` in a manifest.
    ReadWrite,
}

impl FilePermission {
    /// Returns `true` when this permission allows `access`.
    #[must_use]
    pub const fn allows(self, access: FileAccess) -> bool {
        matches!(
            (self, access),
            (Self::ReadWrite, _) | (Self::Read, FileAccess::Read)
        )
    }

    /// Returns the manifest spelling: `read` or `read-write`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::ReadWrite => "read-write",
        }
    }
}

impl fmt::Display for FilePermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of file operation a component asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileAccess {
    /// Open for reading, stat, list a directory.
    Read,
    /// Create, write, truncate, rename or remove.
    Write,
}

impl FileAccess {
    /// Returns the audit operation name: `file.read` or `file.write`.
    #[must_use]
    pub const fn operation(self) -> &'static str {
        match self {
            Self::Read => "file.read",
            Self::Write => "file.write",
        }
    }
}

/// One directory a component may use, with its permission.
///
/// The directory is kept in two forms: the lexically normalized path as declared, and, when the
/// directory existed at build time, its canonical path (symlinks resolved) used by the
/// symlink-aware check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileGrant {
    path: PathBuf,
    resolved: Option<PathBuf>,
    permission: FilePermission,
}

impl FileGrant {
    /// Validates and normalizes a grant. The directory need not exist.
    pub(crate) fn new(path: &Path, permission: FilePermission) -> Result<Self, CapabilityError> {
        if !path.is_absolute() {
            return Err(CapabilityError::RelativePath {
                path: path.to_path_buf(),
            });
        }
        if has_nul(path) {
            return Err(CapabilityError::InvalidPath {
                path: path.to_path_buf(),
            });
        }
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(CapabilityError::ParentTraversal {
                path: path.to_path_buf(),
            });
        }
        // `components()` drops `.` segments, repeated and trailing separators.
        let normalized: PathBuf = path.components().collect();
        let resolved = fs::canonicalize(&normalized).ok();
        Ok(Self {
            path: normalized,
            resolved,
            permission,
        })
    }

    /// Returns the lexically normalized directory as declared.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the canonical directory (symlinks resolved) if it existed when the set was built.
    #[must_use]
    pub fn resolved_path(&self) -> Option<&Path> {
        self.resolved.as_deref()
    }

    /// Returns the directory the host should preopen: the canonical path when known, else the
    /// declared one.
    #[must_use]
    pub fn effective_path(&self) -> &Path {
        self.resolved.as_deref().unwrap_or(&self.path)
    }

    /// Returns the permission granted under the directory.
    #[must_use]
    pub const fn permission(&self) -> FilePermission {
        self.permission
    }
}

impl fmt::Display for FileGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path.display(), self.permission)
    }
}

fn has_nul(path: &Path) -> bool {
    path.as_os_str().as_encoded_bytes().contains(&0)
}

/// Shape checks shared by both variants; `allow_parent` lets the resolving check accept `..`.
fn precheck(path: &Path, allow_parent: bool) -> Result<(), DenyReason> {
    if !path.is_absolute() {
        return Err(DenyReason::RelativePath);
    }
    if has_nul(path) {
        return Err(DenyReason::InvalidPath);
    }
    if !allow_parent && path.components().any(|c| c == Component::ParentDir) {
        return Err(DenyReason::ParentTraversal);
    }
    Ok(())
}

/// Finds the grant that allows `access` to `path` among `grants`, comparing against
/// `key(grant)`; else why none does.
fn find<'a>(
    grants: &'a [FileGrant],
    path: &Path,
    access: FileAccess,
    key: impl Fn(&'a FileGrant) -> &'a Path,
) -> Result<&'a FileGrant, DenyReason> {
    let mut covered = false;
    for grant in grants {
        // `Path::starts_with` compares whole components: `/data/in` is not a prefix of
        // `/data/in2`.
        if path.starts_with(key(grant)) {
            if grant.permission.allows(access) {
                return Ok(grant);
            }
            covered = true;
        }
    }
    Err(if covered {
        DenyReason::ReadOnly
    } else {
        DenyReason::NoFileGrant
    })
}

/// The best decision for `path` among `grants`, comparing against `key(grant)`.
fn decide<'a>(
    grants: &'a [FileGrant],
    path: &Path,
    access: FileAccess,
    key: impl Fn(&'a FileGrant) -> &'a Path,
) -> Decision {
    match find(grants, path, access, key) {
        Ok(_) => Decision::Allowed,
        Err(reason) => Decision::denied(reason),
    }
}

/// Lexical check: never touches the disk, never allocates.
pub(crate) fn check_lexical(grants: &[FileGrant], path: &Path, access: FileAccess) -> Decision {
    if let Err(reason) = precheck(path, false) {
        return Decision::denied(reason);
    }
    decide(grants, path, access, |g| &g.path)
}

/// Symlink-aware check: resolves `path` on the filesystem and compares the real path with the
/// canonical grants.
pub(crate) fn check_resolved(grants: &[FileGrant], path: &Path, access: FileAccess) -> Decision {
    if let Err(reason) = precheck(path, true) {
        return Decision::denied(reason);
    }
    match resolve(path) {
        Ok(real) => decide(grants, &real, access, FileGrant::effective_path),
        Err(reason) => Decision::denied(reason),
    }
}

/// Where an allowed file operation opens its file: a directory handle on the granting directory,
/// and the path beneath it (see [`CapabilitySet::file_target`](crate::CapabilitySet::file_target)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTarget {
    root: PathBuf,
    relative: PathBuf,
}

impl FileTarget {
    /// The granting directory, canonical when it existed as the set was built.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file's path beneath [`root`](Self::root): relative, no `..`, never empty.
    #[must_use]
    pub fn relative(&self) -> &Path {
        &self.relative
    }
}

/// As [`check_resolved`], and where to open the file when allowed.
pub(crate) fn resolve_target(
    grants: &[FileGrant],
    path: &Path,
    access: FileAccess,
) -> Result<FileTarget, DenyReason> {
    precheck(path, true)?;
    let real = resolve(path)?;
    let grant = find(grants, &real, access, FileGrant::effective_path)?;
    let root = grant.effective_path();
    let relative = real
        .strip_prefix(root)
        .map_err(|_| DenyReason::InvalidPath)?;
    if relative.as_os_str().is_empty() {
        // The grant names the file itself: open it from its directory.
        let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
            return Err(DenyReason::InvalidPath);
        };
        return Ok(FileTarget {
            root: parent.to_path_buf(),
            relative: PathBuf::from(name),
        });
    }
    Ok(FileTarget {
        root: root.to_path_buf(),
        relative: relative.to_path_buf(),
    })
}

/// Resolves `path` to a real path: canonicalizes it, or for a path that does not exist yet,
/// canonicalizes its nearest existing ancestor and appends the missing tail.
pub(crate) fn resolve(path: &Path) -> Result<PathBuf, DenyReason> {
    match fs::canonicalize(path) {
        Ok(real) => return Ok(real),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(DenyReason::Unresolvable { kind: e.kind() }),
    }
    for ancestor in path.ancestors().skip(1) {
        let base = match fs::canonicalize(ancestor) {
            Ok(base) => base,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(DenyReason::Unresolvable { kind: e.kind() }),
        };
        let Ok(tail) = path.strip_prefix(ancestor) else {
            return Err(DenyReason::InvalidPath);
        };
        let mut tail_components = tail.components();
        if let Some(Component::Normal(first)) = tail_components.clone().next() {
            // The ancestor resolves but `ancestor/first` does not: if an entry exists there
            // anyway, it is a symlink to nothing, and creating through it would write wherever
            // it points.
            if fs::symlink_metadata(ancestor.join(first)).is_ok() {
                return Err(DenyReason::DanglingSymlink);
            }
        }
        let mut real = base;
        for component in tail_components.by_ref() {
            match component {
                Component::Normal(name) => real.push(name),
                Component::CurDir => {}
                // A missing directory has no parent to go back to; the kernel refuses too.
                _ => return Err(DenyReason::ParentTraversal),
            }
        }
        return Ok(real);
    }
    Err(DenyReason::Unresolvable {
        kind: io::ErrorKind::NotFound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants() -> Vec<FileGrant> {
        vec![
            FileGrant::new(Path::new("/data/in"), FilePermission::Read).unwrap(),
            FileGrant::new(Path::new("/data/out/"), FilePermission::ReadWrite).unwrap(),
        ]
    }

    #[test]
    fn grant_paths_are_normalized_lexically() {
        let g = FileGrant::new(Path::new("//data/./in//"), FilePermission::Read).unwrap();
        assert_eq!(g.path(), Path::new("/data/in"));
    }

    #[test]
    fn grant_rejects_relative_parent_and_nul_paths() {
        assert!(matches!(
            FileGrant::new(Path::new("data/in"), FilePermission::Read),
            Err(CapabilityError::RelativePath { .. })
        ));
        assert!(matches!(
            FileGrant::new(Path::new("/data/../etc"), FilePermission::Read),
            Err(CapabilityError::ParentTraversal { .. })
        ));
        assert!(matches!(
            FileGrant::new(Path::new("/data/\0x"), FilePermission::Read),
            Err(CapabilityError::InvalidPath { .. })
        ));
    }

    #[test]
    fn lexical_check_matches_whole_components() {
        let g = grants();
        assert!(check_lexical(&g, Path::new("/data/in/a.txt"), FileAccess::Read).is_allowed());
        assert!(check_lexical(&g, Path::new("/data/in"), FileAccess::Read).is_allowed());
        assert!(check_lexical(&g, Path::new("/data//in/./a"), FileAccess::Read).is_allowed());
        assert_eq!(
            check_lexical(&g, Path::new("/data/in2/a"), FileAccess::Read),
            Decision::denied(DenyReason::NoFileGrant)
        );
    }

    #[test]
    fn write_under_a_read_grant_is_denied_as_read_only() {
        let g = grants();
        assert_eq!(
            check_lexical(&g, Path::new("/data/in/a"), FileAccess::Write),
            Decision::denied(DenyReason::ReadOnly)
        );
        assert!(check_lexical(&g, Path::new("/data/out/a"), FileAccess::Write).is_allowed());
    }

    #[test]
    fn lexical_check_refuses_parent_components_even_inside_a_grant() {
        let g = grants();
        assert_eq!(
            check_lexical(&g, Path::new("/data/in/x/../a"), FileAccess::Read),
            Decision::denied(DenyReason::ParentTraversal)
        );
    }

    #[test]
    fn resolving_a_missing_path_keeps_the_missing_tail() {
        let dir = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(dir.path()).unwrap();
        let real = resolve(&dir.path().join("a/b/c.txt")).unwrap();
        assert_eq!(real, base.join("a/b/c.txt"));
    }

    #[test]
    fn resolving_a_missing_tail_with_parent_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve(&dir.path().join("missing/../../etc")),
            Err(DenyReason::ParentTraversal)
        );
    }
}
