//! The floor of the ingress load test: a plain axum handler that calls the echo component
//! directly — one raw wasmtime instance (the same engine `Config`, linker and bindings as
//! airssys, from [`airssys_benches::floor`]) behind a tokio mutex, no actor, no mailbox, no
//! capability checks, no metrics. `POST /components/echo` answers with the component's reply.
//!
//! ```text
//! ingress-floor ECHO_WASM [ADDR]     # ADDR defaults to 127.0.0.1:0; prints `listening on http://…`
//! ```
//!
//! Used by `cargo xtask loadtest`, which puts it side by side with `airssys run`.

#![allow(clippy::print_stdout, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use airssys_benches::floor::{FloorEngine, FloorInstance, floor_handle, floor_instantiate};
use airssys_wasm::EngineConfig;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::Mutex;

type Shared = Arc<Mutex<FloorInstance>>;

async fn echo(State(inst): State<Shared>, body: Bytes) -> Response {
    let msg = airssys_benches::floor::Envelope {
        sender: "host".to_owned(),
        topic: None,
        payload: body.to_vec(),
        expects_reply: true,
    };
    let mut inst = inst.lock().await;
    match floor_handle(&mut inst, &msg).await {
        Ok(Ok(Some(reply))) => reply.into_response(),
        Ok(Ok(None)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => (StatusCode::UNPROCESSABLE_ENTITY, e).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let wasm = PathBuf::from(args.next().expect("usage: ingress-floor ECHO_WASM [ADDR]"));
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".to_owned())
        .parse()
        .expect("ADDR is ip:port");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let floor = FloorEngine::new(&EngineConfig::default().with_max_instances(8));
        let pre = floor.load(&wasm);
        let inst = floor_instantiate(&floor.engine, &pre).await;
        let app = Router::new()
            .route("/components/echo", post(echo))
            .with_state(Arc::new(Mutex::new(inst)));
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let local = listener.local_addr().expect("local addr");
        println!("ingress-floor: listening on http://{local}");
        axum::serve(listener, app).await.expect("serve");
    });
}
