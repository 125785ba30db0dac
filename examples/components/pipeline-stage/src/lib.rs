//! `pipeline-stage`: one stage of a text pipeline, for composition tests.
//!
//! `init` takes a config text of `key=value` pairs separated by `;`:
//! - `op=<op>` (required), where `<op>` is `upper`, `lower`, `reverse` (by characters) or
//!   `suffix:<text>` (appends `<text>`);
//! - `next=<name>` (optional): the component to forward the result to;
//! - `forward=send|request` (optional, default `send`): with `send` the result goes on with
//!   `host::send` and the reply (to a request) is this stage's result; with `request` the
//!   stage asks `next` with `host::request` (2 s timeout) and replies with `next`'s reply, so a
//!   request to the first stage returns the result of the whole chain.
//!
//! For example `op=upper;next=stage-b`. A missing or unknown `op`, an unknown key or an empty
//! `next` fails `init`.
//!
//! `handle` transforms the payload (which must be UTF-8); when `next` is set it forwards the
//! result with `host::send(next, result)`, and a failed send is an error that names `next` and
//! the host error; when the sender expects a reply, the reply is the transformed bytes.
//!
//! A test should observe: with `op=upper`, `ask("abc")` → `ABC`; a chain
//! `op=upper;next=b` → `b: op=suffix:!` delivers `ABC!` to `b`; without a `send` grant for
//! `next`, `handle` returns an error containing `send to \`<next>\` failed: denied`.

wit_bindgen::generate!({
    world: "component",
    path: "../../../airssys-wasm/wit",
});

use std::cell::RefCell;

use airssys::component::host::{self, HostError};
use airssys::component::types::HealthStatus;

/// What a stage does to its input.
enum Op {
    Upper,
    Lower,
    Reverse,
    Suffix(String),
}

impl Op {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "upper" => Ok(Self::Upper),
            "lower" => Ok(Self::Lower),
            "reverse" => Ok(Self::Reverse),
            _ => match text.strip_prefix("suffix:") {
                Some(suffix) => Ok(Self::Suffix(suffix.to_owned())),
                None => Err(format!(
                    "unknown op `{text}` (expected upper, lower, reverse or suffix:<text>)"
                )),
            },
        }
    }

    fn apply(&self, input: &str) -> String {
        match self {
            Self::Upper => input.to_uppercase(),
            Self::Lower => input.to_lowercase(),
            Self::Reverse => input.chars().rev().collect(),
            Self::Suffix(suffix) => format!("{input}{suffix}"),
        }
    }
}

/// The parsed `init` config.
struct Stage {
    op: Op,
    next: Option<String>,
    forward_request: bool,
}

impl Stage {
    fn parse(config: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(config).map_err(|_| "config is not UTF-8".to_owned())?;
        let mut op = None;
        let mut next = None;
        let mut forward_request = false;
        for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("op", value)) => op = Some(Op::parse(value)?),
                Some(("next", "")) => return Err("`next` must not be empty".to_owned()),
                Some(("next", value)) => next = Some(value.to_owned()),
                Some(("forward", "send")) => forward_request = false,
                Some(("forward", "request")) => forward_request = true,
                _ => {
                    return Err(format!(
                        "unknown config entry `{pair}` (expected op=, next= or forward=send|request)"
                    ));
                }
            }
        }
        let op = op.ok_or_else(|| format!("config `{text}` has no op= entry"))?;
        Ok(Self {
            op,
            next,
            forward_request,
        })
    }
}

thread_local! {
    static STAGE: RefCell<Option<Stage>> = const { RefCell::new(None) };
}

/// `host-error` as text: `denied:<why>`, `full`, ...
fn describe(err: &HostError) -> String {
    match err {
        HostError::Denied(s) => format!("denied:{s}"),
        HostError::NotFound(s) => format!("not-found:{s}"),
        HostError::Timeout => "timeout".to_owned(),
        HostError::Full => "full".to_owned(),
        HostError::Stopped => "stopped".to_owned(),
        HostError::Invalid(s) => format!("invalid:{s}"),
        HostError::Io(s) => format!("io:{s}"),
        HostError::Failed(s) => format!("failed:{s}"),
    }
}

struct PipelineStage;

impl Guest for PipelineStage {
    fn init(config: Vec<u8>) -> Result<(), String> {
        let stage = Stage::parse(&config)?;
        STAGE.set(Some(stage));
        Ok(())
    }

    fn handle(msg: Envelope) -> Result<Option<Vec<u8>>, String> {
        STAGE.with_borrow(|stage| {
            let stage = stage.as_ref().ok_or("pipeline-stage was not initialised")?;
            let input =
                std::str::from_utf8(&msg.payload).map_err(|_| "payload is not UTF-8".to_owned())?;
            let output = stage.op.apply(input).into_bytes();
            match &stage.next {
                Some(next) if stage.forward_request => {
                    let reply = host::request(next, &output, 2_000)
                        .map_err(|e| format!("request to `{next}` failed: {}", describe(&e)))?;
                    Ok(msg.expects_reply.then_some(reply))
                }
                Some(next) => {
                    host::send(next, &output)
                        .map_err(|e| format!("send to `{next}` failed: {}", describe(&e)))?;
                    Ok(msg.expects_reply.then_some(output))
                }
                None => Ok(msg.expects_reply.then_some(output)),
            }
        })
    }

    fn health() -> Health {
        Health {
            status: HealthStatus::Healthy,
            detail: String::new(),
        }
    }

    fn snapshot() -> Vec<u8> {
        Vec::new()
    }

    fn restore(_state: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
}

export!(PipelineStage);
