//! The [`Message`] trait: what an actor receives.

/// A value an actor can receive.
///
/// Local messages are moved through the mailbox and never serialized. `Reply` is what an
/// [`ask`](crate::ActorRef::ask) of this message type resolves to; use `()` for messages that are
/// only ever sent with [`tell`](crate::ActorRef::tell).
///
/// # Examples
///
/// ```
/// use airssys_rt::Message;
///
/// enum Counter {
///     Add(u64),
///     Get,
/// }
///
/// impl Message for Counter {
///     type Reply = u64;
/// }
/// ```
pub trait Message: Send + 'static {
    /// The value an `ask` of this message type resolves to.
    type Reply: Send + 'static;
}
