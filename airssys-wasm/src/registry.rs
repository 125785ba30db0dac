//! [`ComponentRegistry`]: component id → running actor and [`ComponentMetadata`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use airssys_rt::{ActorRef, ActorSystem};
use dashmap::DashMap;

use crate::{ComponentError, ComponentId, ComponentMessage, ComponentTemplate, upgrade};

/// What the host knows about a component.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComponentMetadata {
    /// The component id.
    pub id: ComponentId,
    /// SHA-256 of the running version's bytes.
    pub digest: String,
    /// Size of the running version's bytes.
    pub size: usize,
    /// Where the running version was loaded from.
    pub source: Option<PathBuf>,
    /// How many successful upgrades it went through.
    pub upgrades: u32,
    /// When it was registered.
    pub registered_at: SystemTime,
}

/// Maps component ids to their actors (through the system's name registry, so the address
/// survives restarts) and their metadata. Cheap to clone.
#[derive(Clone)]
pub struct ComponentRegistry {
    system: ActorSystem,
    entries: Arc<DashMap<ComponentId, ComponentMetadata>>,
}

impl std::fmt::Debug for ComponentRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentRegistry")
            .field("components", &self.entries.len())
            .finish()
    }
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The id is already registered.
    #[error("component {0} is already registered")]
    Duplicate(ComponentId),
    /// No component with that id.
    #[error("no component {0}")]
    Unknown(ComponentId),
    /// The component is registered but its actor is not running.
    #[error("component {0} is not running")]
    NotRunning(ComponentId),
    /// The upgrade failed (and was rolled back).
    #[error(transparent)]
    Upgrade(#[from] ComponentError),
}

impl ComponentRegistry {
    /// An empty registry over `system`.
    #[must_use]
    pub fn new(system: ActorSystem) -> Self {
        Self {
            system,
            entries: Arc::new(DashMap::new()),
        }
    }

    /// Records component `id` running `template`.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Duplicate`] if `id` is registered.
    pub fn register(
        &self,
        id: ComponentId,
        template: &ComponentTemplate,
    ) -> Result<(), RegistryError> {
        match self.entries.entry(id.clone()) {
            dashmap::mapref::entry::Entry::Occupied(_) => Err(RegistryError::Duplicate(id)),
            dashmap::mapref::entry::Entry::Vacant(v) => {
                v.insert(ComponentMetadata {
                    id,
                    digest: template.digest().to_owned(),
                    size: template.size(),
                    source: template.source().map(PathBuf::from),
                    upgrades: 0,
                    registered_at: SystemTime::now(),
                });
                Ok(())
            }
        }
    }

    /// The metadata of `id`.
    #[must_use]
    pub fn metadata(&self, id: &ComponentId) -> Option<ComponentMetadata> {
        self.entries.get(id).map(|e| e.clone())
    }

    /// Every registered component, sorted by id.
    #[must_use]
    pub fn list(&self) -> Vec<ComponentMetadata> {
        let mut all: Vec<_> = self.entries.iter().map(|e| e.value().clone()).collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// The actor of `id`, if it is running.
    #[must_use]
    pub fn actor(&self, id: &ComponentId) -> Option<ActorRef<ComponentMessage>> {
        self.system.lookup(id.as_str())
    }

    /// Forgets `id` (its actor is not stopped).
    pub fn remove(&self, id: &ComponentId) -> Option<ComponentMetadata> {
        self.entries.remove(id).map(|(_, m)| m)
    }

    /// Upgrades `id` to `template` (see [`upgrade`](crate::upgrade)) and records the new version.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Unknown`] / [`RegistryError::NotRunning`], or the rolled-back upgrade.
    pub async fn upgrade(
        &self,
        id: &ComponentId,
        template: ComponentTemplate,
        timeout: Duration,
    ) -> Result<(), RegistryError> {
        if !self.entries.contains_key(id) {
            return Err(RegistryError::Unknown(id.clone()));
        }
        let actor = self
            .actor(id)
            .ok_or_else(|| RegistryError::NotRunning(id.clone()))?;
        upgrade(&actor, template.clone(), timeout).await?;
        if let Some(mut m) = self.entries.get_mut(id) {
            m.digest = template.digest().to_owned();
            m.size = template.size();
            m.source = template.source().map(PathBuf::from);
            m.upgrades += 1;
        }
        Ok(())
    }
}
