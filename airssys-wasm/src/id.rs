//! [`ComponentId`]: the name a component is known by.

use std::fmt;
use std::sync::Arc;

/// The identity of a running component: its name in the manifest, also its registered actor
/// name. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentId(Arc<str>);

impl ComponentId {
    /// A component id from a name.
    #[must_use]
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self(name.into())
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn as_arc(&self) -> &Arc<str> {
        &self.0
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ComponentId {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for ComponentId {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<Arc<str>> for ComponentId {
    fn from(s: Arc<str>) -> Self {
        Self(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_comes_from_any_string_form_and_names_the_same_component() {
        let from_str = ComponentId::from("echo");
        assert_eq!(ComponentId::from(String::from("echo")), from_str);
        assert_eq!(ComponentId::from(Arc::<str>::from("echo")), from_str);
        assert_eq!(from_str.as_str(), "echo");
        assert_eq!(from_str.to_string(), "echo");
    }
}
