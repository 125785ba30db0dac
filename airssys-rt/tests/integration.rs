//! Integration tests of airssys-rt: one test binary, one module per topic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod integration {
    mod api;
    #[cfg(feature = "nats")]
    mod cluster;
    pub(crate) mod common;
    mod in_place;
    mod lazy_task;
    mod mailbox;
    mod messaging;
    mod observer;
    mod properties;
    mod pubsub;
    mod registry;
    mod shutdown;
    mod supervision;
    mod tracing_spans;
}
