//! `--spawn`: the gateway in this process, on its own runtime.
//!
//! `switchboard::gateway::run` is started on a separate multi-thread runtime with two worker
//! threads, so the load generator's tasks and the gateway's do not share a scheduler (the
//! gateway's shard threads are its own in any case). Both listeners are bound on 127.0.0.1:0.
//! [`InProcess::stop`] stops it gracefully (drain, close 1001, wait for sessions) and waits for
//! it, within the configuration's drain and grace periods.

use std::time::Duration;

use switchboard::gateway::{run, Listeners, Stop};
use switchboard_config::Config;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Worker threads of the gateway's runtime.
const WORKERS: usize = 2;

/// A gateway running in this process.
#[derive(Debug)]
pub struct InProcess {
    /// `ws://127.0.0.1:PORT`.
    pub url: String,
    /// `http://127.0.0.1:PORT`.
    pub admin: String,
    runtime: Option<Runtime>,
    stop: Option<oneshot::Sender<Stop>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    patience: Duration,
    /// Where it journals (a fresh directory of its own, removed when it is dropped), if it does.
    data: Option<std::path::PathBuf>,
}

impl InProcess {
    /// Starts a gateway with `config`.
    pub fn start(mut config: Config) -> Result<InProcess, String> {
        // A rehearsal journals as a deployed gateway does, but never into the caller's `./data`:
        // a second run would recover the first one's floor.
        let data = (config.journal.enabled() && config.journal.dir.is_relative()).then(|| {
            std::env::temp_dir().join(format!("switchboard-rehearsal-{}", std::process::id()))
        });
        if let Some(dir) = &data {
            let _ = std::fs::remove_dir_all(dir);
            config.journal.dir = dir.clone();
        }
        let bind = || {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")
                .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
            listener
                .set_nonblocking(true)
                .map_err(|e| format!("cannot make a listener non-blocking: {e}"))?;
            let addr = listener
                .local_addr()
                .map_err(|e| format!("no local address: {e}"))?;
            Ok::<_, String>((listener, addr))
        };
        let (public, public_addr) = bind()?;
        let (admin, admin_addr) = bind()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("gateway")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the gateway's runtime: {e}"))?;
        let gateway = &config.gateway;
        let patience = Duration::from_millis(u64::from(gateway.shutdown_drain_ms))
            + Duration::from_secs(u64::from(gateway.shutdown_grace_secs) + 5);
        let (stop, stopped) = oneshot::channel();
        let task = runtime.spawn(async move {
            // Tokio listeners must be made inside the runtime that polls them.
            let listeners = Listeners {
                public: tokio::net::TcpListener::from_std(public)?,
                admin: tokio::net::TcpListener::from_std(admin)?,
            };
            run(config, listeners, async move {
                stopped.await.unwrap_or(Stop::Fast)
            })
            .await
        });
        Ok(InProcess {
            url: format!("ws://{public_addr}"),
            admin: format!("http://{admin_addr}"),
            runtime: Some(runtime),
            stop: Some(stop),
            task: Some(task),
            patience,
            data,
        })
    }

    /// Stops it gracefully and waits for it (bounded by its drain and grace periods).
    pub async fn stop(mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Stop::Graceful);
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(self.patience, task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("the gateway failed: {e}")),
            Ok(Err(e)) => Err(format!("the gateway's task failed: {e}")),
            Err(_) => Err(format!(
                "the gateway did not stop within {:?}",
                self.patience
            )),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        // Not `drop(runtime)`: that blocks, which a runtime refuses inside another's task.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        if let Some(dir) = self.data.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
