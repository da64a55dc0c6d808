//! The admin listener: health and readiness, on its own port so they answer even when the data
//! plane is saturated.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{respond, Body, Shared};

/// Serves the admin listener until the task is aborted.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, Arc::clone(&shared)));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Response<Body>, Infallible> {
    Ok(match req.uri().path() {
        "/healthz" => respond(StatusCode::OK, "ok\n"),
        "/readyz" if shared.ready.load(Ordering::SeqCst) => respond(StatusCode::OK, "ready\n"),
        "/readyz" => respond(StatusCode::SERVICE_UNAVAILABLE, "draining\n"),
        _ => respond(StatusCode::NOT_FOUND, "not found\n"),
    })
}
