//! [`Host`]: a running manifest — the engine, the actor system, the supervisors and the
//! components under them, the metrics and the audit log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_rt::{
    ActorRef, ActorSystem, ChildStatus, ClusterConfig, MessageBroker, NatsBroker, NatsCluster,
    PublishError, PublishReport, RestartPolicy, RuntimeEvent, RuntimeObserver, ShutdownOptions,
    ShutdownReport, StopReason, SupervisorNode, SupervisorRef,
};
use airssys_wasm::{
    ComponentEvent, ComponentId, ComponentMessage, ComponentObserver, ComponentRegistry,
    ComponentSpec, EngineConfig, FailureKind, LoadError, RegistryError, WasmEngine,
};
use airssys_wasm_metrics::{BoxFuture, HealthReport, HealthSource, Metrics, UnitHealth, UnitState};
use airssys_wasm_security::{AuditError, AuditLog, FlushPolicy};
use serde::Serialize;

use crate::manifest::{ComponentConfig, Manifest, SupervisorConfig};

/// Why the host could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The wasmtime engine could not be created.
    #[error("cannot create the WebAssembly engine")]
    Engine(#[source] airssys_wasm::EngineError),
    /// The audit log could not be opened.
    #[error("cannot open the audit log {path}")]
    Audit {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: AuditError,
    },
    /// The audit log's directory could not be created.
    #[error("cannot create the audit log directory {path}")]
    AuditDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A component could not be loaded.
    #[error("component {component:?}: cannot load {path}")]
    Load {
        /// The component id.
        component: String,
        /// Its file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: LoadError,
    },
    /// The cluster could not be joined.
    #[error("cannot join the cluster at {url}")]
    Cluster {
        /// The NATS address.
        url: String,
        /// Why.
        #[source]
        source: airssys_rt::ClusterError,
    },
    /// A component's id could not be claimed cluster-wide (another node holds it).
    #[error("component {component:?}: cannot register its id in the cluster")]
    ClusterName {
        /// The component id.
        component: String,
        /// Why.
        #[source]
        source: airssys_rt::ClusterError,
    },
    /// A supervisor (and so one of its components) could not be started.
    #[error("supervisor {supervisor:?} could not start")]
    Supervisor {
        /// The supervisor's name.
        supervisor: String,
        /// Why (names the child).
        #[source]
        source: airssys_rt::ChildError,
    },
}

/// Why an upgrade through the host failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The new version could not be loaded (bad bytes, does not implement the world ...).
    #[error("the new version cannot be loaded")]
    Load(#[source] LoadError),
    /// No such component, it is not running, or the new version was rolled back.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// What the startup is doing, for a progress line.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// Compiling (or loading from the cache) component `index` of `total`.
    Compiling {
        /// 1-based.
        index: usize,
        /// How many components.
        total: usize,
        /// Its id.
        id: &'a str,
        /// Its file.
        path: &'a Path,
    },
    /// Starting the supervisor `name`.
    Starting {
        /// The supervisor.
        name: &'a str,
    },
}

/// Feeds the component layer's events into the Prometheus metrics.
struct MetricsBridge(Metrics);

impl ComponentObserver for MetricsBridge {
    fn on_event(&self, event: &ComponentEvent<'_>) {
        match event {
            ComponentEvent::InstanceStarted { .. } => self.0.component_started(),
            ComponentEvent::InstanceStopped { .. } => self.0.component_stopped(),
            ComponentEvent::CapabilityDenied { operation, .. } => {
                self.0.capability_denied(operation);
            }
            ComponentEvent::InstanceFailed { kind, .. } => {
                self.0.component_failed(FailureKind::as_str(*kind));
            }
            ComponentEvent::GuestError { .. } => self.0.guest_error(),
            ComponentEvent::Upgraded { success, .. } => self.0.upgrade(*success),
            _ => {}
        }
    }
}

/// The runtime's events into the metrics, and a count of restarts per component that outlives
/// its supervisor (the supervisor's own count is gone once it gave up).
#[derive(Clone, Default)]
struct RuntimeBridge {
    metrics: Metrics,
    /// (supervisor, component) → restarts so far.
    restarts: Arc<Mutex<HashMap<(String, String), u32>>>,
}

impl RuntimeBridge {
    fn restarts(&self, supervisor: &str, component: &str) -> u32 {
        self.restarts.lock().map_or(0, |m| {
            m.get(&(supervisor.to_owned(), component.to_owned()))
                .copied()
                .unwrap_or(0)
        })
    }
}

impl RuntimeObserver for RuntimeBridge {
    fn on_event(&self, event: &RuntimeEvent<'_>) {
        if let RuntimeEvent::ChildRestarted {
            supervisor, child, ..
        } = event
            && let Ok(mut m) = self.restarts.lock()
        {
            *m.entry(((*supervisor).to_owned(), (*child).to_owned()))
                .or_default() += 1;
        }
        self.metrics.on_event(event);
    }
}

struct RunningSupervisor {
    config: SupervisorConfig,
    sup: SupervisorRef,
    /// Why it stopped, once it has (set by a watcher task).
    gave_up: Arc<Mutex<Option<StopReason>>>,
}

struct Inner {
    manifest: Manifest,
    system: ActorSystem,
    engine: WasmEngine,
    registry: ComponentRegistry,
    metrics: Metrics,
    runtime_events: RuntimeBridge,
    supervisors: Vec<RunningSupervisor>,
    audit: AuditLog,
    cluster: Option<NatsCluster>,
    route: Option<NatsBroker<ComponentMessage>>,
}

/// A running manifest. Cheap to clone (shared).
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("manifest", &self.inner.manifest.path)
            .field("components", &self.inner.manifest.components.len())
            .finish()
    }
}

/// The state of one component, as the admin status endpoint reports it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ComponentStatus {
    /// Its id.
    pub id: String,
    /// Its supervisor.
    pub supervisor: String,
    /// Running, restarting, stopped or failed.
    pub state: UnitState,
    /// Restarts so far.
    pub restarts: u32,
    /// Why it last stopped, if it did.
    pub last_exit: Option<String>,
    /// SHA-256 of the running version.
    pub digest: String,
    /// Successful upgrades so far.
    pub upgrades: u32,
    /// Messages queued in its mailbox.
    pub mailbox_depth: usize,
}

impl Host {
    /// Loads every component of `manifest` (reporting progress), then starts the supervisors
    /// in manifest order, each starting its components in order.
    ///
    /// # Errors
    ///
    /// [`StartError`] naming the component or supervisor that failed; whatever had started
    /// is shut down again.
    pub async fn start(
        manifest: Manifest,
        mut progress: impl FnMut(Progress<'_>) + Send,
    ) -> Result<Self, StartError> {
        let metrics = Metrics::new();
        let runtime_events = RuntimeBridge {
            metrics: metrics.clone(),
            restarts: Arc::default(),
        };
        let system = ActorSystem::builder()
            .observer(Arc::new(runtime_events.clone()))
            .build();
        let mut config = EngineConfig::default().with_max_instances(manifest.host.max_instances);
        if let Some(dir) = &manifest.host.cache_dir {
            config = config.with_cache_dir(dir);
        }
        let engine = WasmEngine::with_observer(config, Arc::new(MetricsBridge(metrics.clone())))
            .map_err(StartError::Engine)?;
        if let Some(dir) = manifest.host.audit_log.as_ref().and_then(|p| p.parent()) {
            std::fs::create_dir_all(dir).map_err(|source| StartError::AuditDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let audit = match &manifest.host.audit_log {
            // The file is the record; denials are also logged as warnings by the host.
            Some(path) => AuditLog::builder()
                .tracing(false)
                .file(path, FlushPolicy::EveryRecord)
                .build()
                .map_err(|source| StartError::Audit {
                    path: path.clone(),
                    source,
                })?,
            None => AuditLog::tracing_only(),
        };
        let registry = ComponentRegistry::new(system.clone());
        let cluster = match &manifest.host.cluster {
            Some(url) => {
                let mut config = ClusterConfig::new(url.as_str());
                if let Some(id) = &manifest.host.node_id {
                    config = config.node_id(id.as_str());
                }
                Some(
                    NatsCluster::connect(&system, config)
                        .await
                        .map_err(|source| StartError::Cluster {
                            url: url.clone(),
                            source,
                        })?,
                )
            }
            None => None,
        };
        let route = cluster
            .as_ref()
            .map(NatsCluster::broker::<ComponentMessage>);

        let total = manifest.components.len();
        let mut templates = Vec::with_capacity(total);
        for (i, c) in manifest.components.iter().enumerate() {
            progress(Progress::Compiling {
                index: i + 1,
                total,
                id: &c.id,
                path: &c.wasm,
            });
            let template = load_blocking(&engine, c.wasm.clone())
                .await
                .map_err(|source| StartError::Load {
                    component: c.id.clone(),
                    path: c.wasm.clone(),
                    source,
                })?;
            templates.push(template);
        }

        let mut supervisors = Vec::new();
        for s in &manifest.supervisors {
            progress(Progress::Starting { name: &s.name });
            let mut node = SupervisorNode::builder(s.name.as_str())
                .strategy(s.strategy)
                .intensity(s.intensity);
            if let Some(every) = s.health_interval {
                node = node.health_check_interval(every);
            }
            for id in &s.components {
                let Some(i) = manifest.components.iter().position(|c| &c.id == id) else {
                    continue;
                };
                let c = &manifest.components[i];
                let template = templates[i].clone();
                // Ids are unique in a validated manifest.
                let _ = registry.register(ComponentId::new(c.id.as_str()), &template);
                node = node.child(component_child(c, template, &audit, route.as_ref()));
            }
            match system.start_supervisor(node.build()).await {
                Ok(sup) => {
                    let gave_up = Arc::new(Mutex::new(None));
                    let watcher = sup.clone();
                    let slot = Arc::clone(&gave_up);
                    tokio::spawn(async move {
                        let reason = watcher.wait().await;
                        if let Ok(mut s) = slot.lock() {
                            *s = Some(reason);
                        }
                    });
                    supervisors.push(RunningSupervisor {
                        config: s.clone(),
                        sup,
                        gave_up,
                    });
                    if let Some(broker) = &route {
                        for id in &s.components {
                            if let Err(source) = broker.register(id).await {
                                system.shutdown().await;
                                return Err(StartError::ClusterName {
                                    component: id.clone(),
                                    source,
                                });
                            }
                        }
                    }
                }
                Err(source) => {
                    system.shutdown().await;
                    return Err(StartError::Supervisor {
                        supervisor: s.name.clone(),
                        source,
                    });
                }
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                manifest,
                system,
                engine,
                registry,
                metrics,
                runtime_events,
                supervisors,
                audit,
                cluster,
                route,
            }),
        })
    }

    /// The address of the component (or actor) `id`: local, or on another node of the cluster.
    pub async fn lookup(&self, id: &str) -> Option<ActorRef<ComponentMessage>> {
        match &self.inner.route {
            Some(broker) => broker.lookup(id).await.ok(),
            None => self.inner.registry.actor(&ComponentId::new(id)),
        }
    }

    /// Publishes `msg` on `topic`: to the local subscribers, or cluster-wide.
    ///
    /// # Errors
    ///
    /// [`PublishError`] for an empty topic.
    pub async fn publish(
        &self,
        topic: &str,
        msg: ComponentMessage,
    ) -> Result<PublishReport, PublishError> {
        match &self.inner.route {
            Some(broker) => broker.publish(topic, msg).await,
            None => {
                self.inner
                    .system
                    .broker::<ComponentMessage>()
                    .publish(topic, msg)
                    .await
            }
        }
    }

    /// This node's id in the cluster, when it joined one.
    #[must_use]
    pub fn node_id(&self) -> Option<&str> {
        self.inner.cluster.as_ref().map(NatsCluster::node_id)
    }

    /// The manifest it runs.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// The actor system (to spawn native actors next to the components).
    #[must_use]
    pub fn system(&self) -> &ActorSystem {
        &self.inner.system
    }

    /// The component registry.
    #[must_use]
    pub fn registry(&self) -> &ComponentRegistry {
        &self.inner.registry
    }

    /// The metrics.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The engine.
    #[must_use]
    pub fn engine(&self) -> &WasmEngine {
        &self.inner.engine
    }

    /// The state of every component, in manifest order.
    pub async fn status(&self) -> Vec<ComponentStatus> {
        let mut out = Vec::new();
        for s in &self.inner.supervisors {
            let children = self.children_of(s).await;
            for id in &s.config.components {
                let Some(c) = self.inner.manifest.component(id) else {
                    continue;
                };
                let child = children
                    .as_ref()
                    .ok()
                    .and_then(|cs| cs.iter().find(|x| &x.id == id));
                let (state, detail) = unit_state(c, child, &children);
                let meta = self.inner.registry.metadata(&ComponentId::new(id.as_str()));
                out.push(ComponentStatus {
                    id: id.clone(),
                    supervisor: s.config.name.clone(),
                    state,
                    restarts: child.map_or_else(
                        || self.inner.runtime_events.restarts(&s.config.name, id),
                        |c| c.restarts,
                    ),
                    last_exit: detail,
                    digest: meta.as_ref().map(|m| m.digest.clone()).unwrap_or_default(),
                    upgrades: meta.map_or(0, |m| m.upgrades),
                    mailbox_depth: self
                        .inner
                        .registry
                        .actor(&ComponentId::new(id.as_str()))
                        .map_or(0, |a| a.mailbox_depth()),
                });
            }
        }
        out
    }

    /// The health of every component: failed for good when its supervisor gave up (restart
    /// intensity exhausted) or will not restart it.
    pub async fn health(&self) -> HealthReport {
        let units = self
            .status()
            .await
            .into_iter()
            .map(|s| {
                let u = UnitHealth::new(s.id, s.state, s.restarts);
                match s.last_exit {
                    Some(d) if s.state != UnitState::Running => u.detail(d),
                    _ => u,
                }
            })
            .collect();
        HealthReport::new(units)
    }

    async fn children_of(&self, s: &RunningSupervisor) -> Result<Vec<ChildStatus>, String> {
        let gave_up = || {
            s.gave_up.lock().ok().and_then(|g| g.clone()).map_or_else(
                || format!("supervisor {:?} stopped", s.config.name),
                |r| format!("supervisor {:?} gave up: {r}", s.config.name),
            )
        };
        if !s.sup.is_running() {
            return Err(gave_up());
        }
        s.sup.children().await.map_err(|_| gave_up())
    }

    /// Upgrades component `id` to the component in `bytes`, with automatic rollback.
    /// Returns the new version's digest.
    ///
    /// # Errors
    ///
    /// [`UpgradeError`]: the bytes do not load, no such component, or rolled back.
    pub async fn upgrade(&self, id: &str, bytes: Vec<u8>) -> Result<String, UpgradeError> {
        let engine = self.inner.engine.clone();
        let template = tokio::task::spawn_blocking(move || engine.load(&bytes))
            .await
            .map_err(|e| {
                UpgradeError::Load(LoadError::Invalid(format!("the loader task failed: {e}")))
            })?
            .map_err(UpgradeError::Load)?;
        let digest = template.digest().to_owned();
        self.inner
            .registry
            .upgrade(&ComponentId::new(id), template, Duration::from_secs(30))
            .await?;
        Ok(digest)
    }

    /// Stops every supervisor in reverse start order, draining mailboxes for at most the
    /// manifest's `drain_timeout`, and flushes the audit log.
    pub async fn shutdown(&self) -> ShutdownReport {
        let options =
            ShutdownOptions::default().drain_timeout(self.inner.manifest.host.drain_timeout);
        let report = self.inner.system.shutdown_with(options).await;
        if let Some(cluster) = &self.inner.cluster {
            cluster.shutdown().await;
        }
        if let Err(e) = self.inner.audit.flush() {
            tracing::error!(error = %e, "flushing the audit log failed");
        }
        report
    }
}

fn component_child(
    c: &ComponentConfig,
    template: airssys_wasm::ComponentTemplate,
    audit: &AuditLog,
    cluster: Option<&NatsBroker<ComponentMessage>>,
) -> airssys_rt::ChildSpec {
    let mut spec = ComponentSpec::new(c.id.as_str(), template)
        .capabilities(c.capabilities.clone())
        .limits(c.limits)
        .config(c.config.clone())
        .audit(audit.clone())
        .mailbox(c.mailbox);
    for t in &c.subscribe {
        spec = spec.subscribe(t.clone());
    }
    if let Some(broker) = cluster {
        spec = spec.cluster(broker.clone());
    }
    spec.child_spec().restart(c.restart).backoff(c.backoff)
}

/// A unit's state from its supervisor's view of it.
fn unit_state(
    c: &ComponentConfig,
    child: Option<&ChildStatus>,
    children: &Result<Vec<ChildStatus>, String>,
) -> (UnitState, Option<String>) {
    let child = match (children, child) {
        (Err(why), _) => return (UnitState::Failed, Some(why.clone())),
        (Ok(_), None) => return (UnitState::Failed, Some("not supervised".to_owned())),
        (Ok(_), Some(child)) => child,
    };
    let last = child.last_exit.as_ref().map(ToString::to_string);
    if child.running {
        return (UnitState::Running, last);
    }
    let abnormal = child
        .last_exit
        .as_ref()
        .is_some_and(StopReason::is_abnormal);
    let state = match c.restart {
        RestartPolicy::Temporary if abnormal => UnitState::Failed,
        RestartPolicy::Temporary => UnitState::Stopped,
        RestartPolicy::Transient if !abnormal => UnitState::Stopped,
        _ => UnitState::Restarting,
    };
    (state, last)
}

async fn load_blocking(
    engine: &WasmEngine,
    path: PathBuf,
) -> Result<airssys_wasm::ComponentTemplate, LoadError> {
    let engine = engine.clone();
    match tokio::task::spawn_blocking(move || engine.load_file(path)).await {
        Ok(r) => r,
        Err(e) => Err(LoadError::Invalid(format!("the loader task failed: {e}"))),
    }
}

impl HealthSource for Host {
    fn report(&self) -> BoxFuture<'_, HealthReport> {
        Box::pin(self.health())
    }
}
