//! Where a component's `send`, `request` and `publish` go: the local system, or (with the
//! `cluster` feature) the cluster broker, which resolves names locally first, then cluster-wide.

use std::time::Duration;

use airssys_rt::{
    ActorRef, ActorSystem, AskError, MessageBroker, PublishError, PublishReport, SendError,
};

use crate::ComponentMessage;

type Reply = <ComponentMessage as airssys_rt::Message>::Reply;

/// The messaging route of one component.
#[derive(Clone)]
pub(crate) enum Route {
    /// This process only.
    Local(ActorSystem),
    /// Every node of the cluster.
    #[cfg(feature = "cluster")]
    Cluster(airssys_rt::NatsBroker<ComponentMessage>),
}

impl Route {
    /// The address of `name`, if anything answers to it.
    pub(crate) async fn lookup(&self, name: &str) -> Option<ActorRef<ComponentMessage>> {
        match self {
            Self::Local(system) => system.lookup(name),
            #[cfg(feature = "cluster")]
            Self::Cluster(broker) => broker.lookup(name).await.ok(),
        }
    }

    /// Asks `name`.
    pub(crate) async fn request(
        &self,
        name: &str,
        msg: ComponentMessage,
        timeout: Duration,
    ) -> Result<Reply, AskError<ComponentMessage>> {
        match self {
            Self::Local(system) => match system.lookup::<ComponentMessage>(name) {
                Some(actor) => actor.ask(msg, timeout).await,
                None => Err(AskError::Send(SendError::NotFound(msg))),
            },
            #[cfg(feature = "cluster")]
            Self::Cluster(broker) => broker.request(name, msg, timeout).await,
        }
    }

    /// Publishes on `topic` (cluster-wide on a cluster route).
    pub(crate) async fn publish(
        &self,
        topic: &str,
        msg: ComponentMessage,
    ) -> Result<PublishReport, PublishError> {
        match self {
            Self::Local(system) => {
                system
                    .broker::<ComponentMessage>()
                    .publish(topic, msg)
                    .await
            }
            #[cfg(feature = "cluster")]
            Self::Cluster(broker) => broker.publish(topic, msg).await,
        }
    }
}
