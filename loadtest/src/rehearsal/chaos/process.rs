//! The gateway under a `--kill9-at` run: the real `switchboard` binary as a child process.
//!
//! Its configuration and data directory live in a scratch directory of this run
//! (`$TMPDIR/switchboard-chaos-PID/`), with the child's log (stdout and stderr of every start,
//! appended). The two ports are picked free once and kept across restarts, so clients reconnect
//! to the same address. The child is killed with SIGKILL when this is dropped (an error or
//! Ctrl-C anywhere never leaves a gateway behind); [`Gateway::stop`] is the graceful end.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::ChaosError;
use crate::rehearsal::http;

/// How long a start or restart has to answer `/readyz` with 200.
pub const READY: Duration = Duration::from_secs(30);

/// How long a killed child has to be reaped.
const REAP: Duration = Duration::from_secs(10);

/// Between two `/readyz` polls.
const POLL: Duration = Duration::from_millis(50);

/// The gateway child process.
#[derive(Debug)]
pub struct Gateway {
    /// `ws://127.0.0.1:PORT`.
    pub url: String,
    /// `http://127.0.0.1:PORT`.
    pub admin: String,
    /// Where its output goes.
    pub log: PathBuf,
    bin: PathBuf,
    args: Vec<String>,
    dir: PathBuf,
    child: Option<Child>,
}

impl Gateway {
    /// Writes `config_text` to the scratch directory, picks two free loopback ports and starts
    /// `bin serve` (with `--data-dir` when `data_dir`), waiting for `/readyz`.
    pub async fn start(bin: &Path, config_text: &str, data_dir: bool) -> Result<Self, ChaosError> {
        if !bin.is_file() {
            return Err(ChaosError::NoBinary(bin.to_path_buf()));
        }
        let dir = std::env::temp_dir().join(format!("switchboard-chaos-{}", std::process::id()));
        let config = dir.join("gateway.toml");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(|e| ChaosError::io(&data, e))?;
        std::fs::write(&config, config_text).map_err(|e| ChaosError::io(&config, e))?;
        let (public, admin) = (free_port()?, free_port()?);
        let mut args = vec![
            "serve".to_string(),
            "--config".to_string(),
            config.display().to_string(),
            "--listen".to_string(),
            format!("127.0.0.1:{public}"),
            "--admin-listen".to_string(),
            format!("127.0.0.1:{admin}"),
        ];
        if data_dir {
            args.extend(["--data-dir".to_string(), data.display().to_string()]);
        }
        let mut gateway = Gateway {
            url: format!("ws://127.0.0.1:{public}"),
            admin: format!("http://127.0.0.1:{admin}"),
            log: dir.join("gateway.log"),
            bin: bin.to_path_buf(),
            args,
            dir,
            child: None,
        };
        gateway.spawn().await?;
        Ok(gateway)
    }

    /// SIGKILL, reap, start the same command again and wait for `/readyz`: the outage, from
    /// the kill to ready, in milliseconds.
    pub async fn kill9_and_restart(&mut self) -> Result<u64, ChaosError> {
        let killed = Instant::now();
        if let Some(mut child) = self.child.take() {
            child
                .start_kill()
                .map_err(|e| ChaosError::io(&self.bin, e))?;
            match tokio::time::timeout(REAP, child.wait()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(ChaosError::io(&self.bin, e)),
                Err(_) => return Err(ChaosError::NotReaped(REAP)),
            }
        }
        self.spawn().await?;
        Ok(killed.elapsed().as_millis() as u64)
    }

    /// Stops the child with SIGTERM and waits up to `patience`: `Ok` only for exit status 0.
    /// The scratch directory goes with a clean exit; the log stays for a failed one.
    pub async fn stop(mut self, patience: Duration) -> Result<(), ChaosError> {
        let mut child = self.child.take().ok_or(ChaosError::NotRunning)?;
        let pid = child.id().ok_or(ChaosError::NotRunning)?;
        // No signal API in std or tokio, and no unsafe here: the `kill` utility sends it.
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .map_err(|e| ChaosError::io(Path::new("kill"), e))?;
        if !sent.success() {
            return Err(ChaosError::Signal(pid, sent));
        }
        let status = match tokio::time::timeout(patience, child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => return Err(ChaosError::io(&self.bin, e)),
            Err(_) => {
                return Err(ChaosError::NoExit {
                    wait: patience,
                    log: self.log.clone(),
                })
            }
        };
        if !status.success() {
            return Err(ChaosError::BadExit {
                status,
                log: self.log.clone(),
            });
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }

    async fn spawn(&mut self) -> Result<(), ChaosError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| ChaosError::io(&self.log, e))?;
        let err = log.try_clone().map_err(|e| ChaosError::io(&self.log, e))?;
        let child = Command::new(&self.bin)
            .args(&self.args)
            // The documented default level, so a RUST_LOG of the caller's cannot turn on
            // per-message logging.
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ChaosError::io(&self.bin, e))?;
        self.child = Some(child);
        self.ready().await
    }

    /// Polls `/readyz` until it answers 200, the child exits, or [`READY`] passes.
    async fn ready(&mut self) -> Result<(), ChaosError> {
        let deadline = Instant::now() + READY;
        loop {
            let child = self.child.as_mut().ok_or(ChaosError::NotRunning)?;
            if let Some(status) = child.try_wait().map_err(|e| ChaosError::io(&self.bin, e))? {
                return Err(ChaosError::Exited {
                    status,
                    log: self.log.clone(),
                });
            }
            if let Ok((200, _)) = http::get(&self.admin, "/readyz", None).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ChaosError::NotReady {
                    wait: READY,
                    log: self.log.clone(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// A loopback port free now. The listener is closed before the child binds it: another
/// process could take it in between, which the child's start would then report.
fn free_port() -> Result<u16, ChaosError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| ChaosError::io(Path::new("127.0.0.1:0"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ChaosError::io(Path::new("127.0.0.1:0"), e))?;
    Ok(addr.port())
}
