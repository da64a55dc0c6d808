//! The WebSocket gateway (listeners, limits, timeouts) and the connectors allowed to connect.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::ConfigError;

/// The WebSocket gateway: listeners, limits, timeouts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Address for connectors and agents (`/v1/connector`, `/v1/agent`).
    pub listen: String,
    /// Address for health, readiness, metrics and the admin API.
    pub admin_listen: String,
    /// Router shard threads; 0 means one per CPU core.
    pub shards: usize,
    /// Largest incoming message; a bigger one closes the connection with 1009.
    pub max_message_bytes: usize,
    /// Socket read buffer per connection (small, so 100k idle sockets fit in memory).
    pub read_buffer_bytes: usize,
    /// Frames queued for one connection before it counts as a slow consumer.
    pub outbox_frames: usize,
    /// Frames kept per client identity for resume; past it the oldest are dropped and the next
    /// resume is told `gap: true`.
    pub replay_frames: usize,
    /// A slow consumer whose outbox stays full this long is closed with 1013.
    pub slow_consumer_secs: u32,
    /// How long a disconnected client's session (sequence and replay buffer) is kept for a
    /// resume; after it the session is forgotten and a reconnect starts afresh (`gap: true`).
    pub session_resume_secs: u32,
    /// Protocol errors a connection may make per minute before it is closed with 1008.
    pub error_budget_per_minute: u32,
    /// Ping interval; a connection silent for three intervals is closed.
    pub heartbeat_secs: u32,
    /// On SIGTERM, how long existing sockets keep being served after readiness turns 503 and
    /// new connections stop (in-flight work finishes, load balancers notice), before every socket
    /// is told to close with 1001.
    pub shutdown_drain_ms: u32,
    /// After the close is sent, how long to wait for sockets to finish before exiting anyway.
    pub shutdown_grace_secs: u32,
    /// Bearer token for the admin API (`/api/v1/...`). Empty disables the API (403).
    pub admin_token: String,
    /// Pending connections the kernel queues on each listener before the gateway accepts them.
    pub listen_backlog: u32,
    /// A client must send its whole request head within this long of connecting (and between
    /// requests on a kept-alive connection), on both listeners; otherwise the socket is closed.
    pub header_read_timeout_ms: u32,
    /// Public connections at once, upgraded or not. Past it a new socket is closed at once.
    /// Lowered at start to what the descriptor limit leaves after the admin listener's share.
    pub max_connections: usize,
    /// Public connections that have not finished their handshake (TLS, then the HTTP upgrade).
    /// Past it a new socket is closed at once.
    pub max_handshaking_connections: usize,
    /// Admin listener connections at once; its own budget, so it answers whatever the public
    /// listener suffers.
    pub admin_max_connections: usize,
    /// Failed authentications one source address may make per minute (token bucket, bursting
    /// to the same number); past it a failed attempt is answered 429 with `Retry-After`.
    pub auth_failures_per_minute: u32,
    /// TLS on the public listener (`wss://`); absent means plain `ws://`.
    pub tls: Option<TlsConfig>,
    /// TLS on the admin listener (`https://`); absent means plain `http://`.
    pub admin_tls: Option<TlsConfig>,
}

/// A listener's certificate and private key. The files are read at startup and on every reload
/// (`gateway::tls`); only the shape is checked here, so `validate` stays free of I/O.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, the server's own certificate first. Relative to the working
    /// directory.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the first certificate. May be the same file.
    pub key_file: PathBuf,
}

impl TlsConfig {
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        for (name, path) in [("cert_file", &self.cert_file), ("key_file", &self.key_file)] {
            if path.as_os_str().is_empty() {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must name a PEM file",
                ));
            }
        }
        Ok(())
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: "127.0.0.1:8080".to_string(),
            admin_listen: "127.0.0.1:9090".to_string(),
            shards: 0,
            max_message_bytes: 64 * 1024,
            read_buffer_bytes: 4096,
            outbox_frames: 1024,
            replay_frames: 8192,
            slow_consumer_secs: 10,
            session_resume_secs: 300,
            error_budget_per_minute: 30,
            heartbeat_secs: 20,
            shutdown_drain_ms: 1000,
            shutdown_grace_secs: 10,
            admin_token: String::new(),
            listen_backlog: 1024,
            header_read_timeout_ms: 10_000,
            max_connections: 100_000,
            max_handshaking_connections: 1024,
            admin_max_connections: 64,
            auth_failures_per_minute: 60,
            tls: None,
            admin_tls: None,
        }
    }
}

impl GatewayConfig {
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        for (name, value) in [
            ("listen", &self.listen),
            ("admin_listen", &self.admin_listen),
        ] {
            if value.parse::<std::net::SocketAddr>().is_err() {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    format!("{value:?} is not an address like 127.0.0.1:8080"),
                ));
            }
        }
        let ranges: [(&str, usize, usize, usize); 9] = [
            ("max_message_bytes", self.max_message_bytes, 1024, 16 << 20),
            ("read_buffer_bytes", self.read_buffer_bytes, 1024, 1 << 20),
            ("outbox_frames", self.outbox_frames, 16, 1 << 20),
            ("replay_frames", self.replay_frames, 16, 1 << 20),
            ("listen_backlog", self.listen_backlog as usize, 1, 65_535),
            (
                "header_read_timeout_ms",
                self.header_read_timeout_ms as usize,
                10,
                600_000,
            ),
            ("max_connections", self.max_connections, 1, 10_000_000),
            (
                "max_handshaking_connections",
                self.max_handshaking_connections,
                1,
                self.max_connections,
            ),
            ("admin_max_connections", self.admin_max_connections, 1, 4096),
        ];
        for (name, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    format!("must be between {min} and {max}"),
                ));
            }
        }
        for (name, value) in [
            ("slow_consumer_secs", self.slow_consumer_secs),
            ("session_resume_secs", self.session_resume_secs),
            ("error_budget_per_minute", self.error_budget_per_minute),
            ("heartbeat_secs", self.heartbeat_secs),
            ("auth_failures_per_minute", self.auth_failures_per_minute),
        ] {
            if value == 0 {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must be at least 1",
                ));
            }
        }
        if self.shards > 256 {
            return Err(ConfigError::new(
                format!("{key}.shards"),
                "must be at most 256",
            ));
        }
        for (name, tls) in [("tls", &self.tls), ("admin_tls", &self.admin_tls)] {
            if let Some(tls) = tls {
                tls.validate(&format!("{key}.{name}"))?;
            }
        }
        Ok(())
    }
}

/// A channel connector allowed to connect.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Its name, e.g. "wechat-main". Conversation ids are scoped to it.
    pub name: String,
    /// The tenant its conversations belong to.
    pub tenant: String,
    /// Secret it presents as `Authorization: Bearer <api_key>` (or `?token=`). At least 16 characters.
    pub api_key: String,
}

impl fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorConfig")
            .field("name", &self.name)
            .field("tenant", &self.tenant)
            .field("api_key", &"<secret>")
            .finish()
    }
}
