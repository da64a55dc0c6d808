//! Configuration: one validated struct, built from TOML.
//!
//! The file format is documented key by key in `config/switchboard.toml`, which is also embedded in
//! the binary as the defaults ([`Config::embedded`]). Parsing is two-phase: serde reads the raw shape
//! (unknown keys are rejected so a typo never silently falls back to a default), then
//! [`Config::validate`] checks cross-references and ranges. Every error names the key it is about,
//! e.g. `tenants[0].queues[1].skills: queue "vip" requires no skill`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The defaults shipped with the binary: the documented example file itself.
pub const EMBEDDED_TOML: &str = include_str!("../../../config/switchboard.toml");

/// Largest capacity an agent or bot may declare; keeps utilisation keys exact (see `router::agents`).
pub const MAX_CAPACITY: u32 = 100_000;

/// A configuration problem, naming the key and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ConfigError {
    /// Dotted path of the offending key, e.g. `tenants[0].sla.vip_secs`.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// An error about `key`.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// The whole validated configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listeners, limits and timeouts of the WebSocket gateway.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// Channel connectors allowed to connect, each bound to one tenant.
    #[serde(default)]
    pub connectors: Vec<ConnectorConfig>,
    /// Tenants, each with its own router. The first one is the default tenant.
    #[serde(default = "default_tenants")]
    pub tenants: Vec<TenantConfig>,
}

fn default_tenants() -> Vec<TenantConfig> {
    vec![TenantConfig::default()]
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gateway: GatewayConfig::default(),
            connectors: Vec::new(),
            tenants: default_tenants(),
        }
    }
}

impl Config {
    /// The configuration embedded in the binary (`config/switchboard.toml`).
    pub fn embedded() -> Self {
        // The embedded file is validated by a unit test, so failing here would be a build defect;
        // falling back to the code defaults still gives a runnable gateway.
        Self::from_toml_str(EMBEDDED_TOML).unwrap_or_default()
    }

    /// Parses and validates TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let reason = e.message().to_string();
            let key = e
                .span()
                .map(|span| describe_span(text, span))
                .unwrap_or_else(|| "(file)".to_string());
            ConfigError::new(key, reason)
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path.display().to_string(), e.to_string()))?;
        Self::from_toml_str(&text)
    }

    /// Checks ranges and cross-references that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tenants.is_empty() {
            return Err(ConfigError::new(
                "tenants",
                "at least one tenant is required",
            ));
        }
        let mut ids = BTreeSet::new();
        for (i, tenant) in self.tenants.iter().enumerate() {
            let key = format!("tenants[{i}]");
            if !ids.insert(tenant.id.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.id"),
                    format!("tenant id {:?} is used twice", tenant.id),
                ));
            }
            tenant.validate(&key)?;
        }
        self.gateway.validate("gateway")?;
        // An agent reconnecting within its grace period must still find its session.
        if let Some((i, tenant)) = self
            .tenants
            .iter()
            .enumerate()
            .find(|(_, t)| t.timing.agent_grace_secs > self.gateway.session_resume_secs)
        {
            return Err(ConfigError::new(
                "gateway.session_resume_secs",
                format!(
                    "must be at least tenants[{i}].timing.agent_grace_secs ({})",
                    tenant.timing.agent_grace_secs
                ),
            ));
        }
        let mut keys = BTreeSet::new();
        let mut names = BTreeSet::new();
        for (i, connector) in self.connectors.iter().enumerate() {
            let key = format!("connectors[{i}]");
            if connector.name.trim().is_empty() {
                return Err(ConfigError::new(format!("{key}.name"), "must not be empty"));
            }
            if !names.insert(connector.name.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.name"),
                    format!("connector {:?} is defined twice", connector.name),
                ));
            }
            if connector.api_key.len() < 16 {
                return Err(ConfigError::new(
                    format!("{key}.api_key"),
                    "must be at least 16 characters",
                ));
            }
            if !keys.insert(connector.api_key.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.api_key"),
                    "is the same as another connector's",
                ));
            }
            if !ids.contains(connector.tenant.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.tenant"),
                    format!("no tenant is named {:?}", connector.tenant),
                ));
            }
        }
        Ok(())
    }

    /// Applies `SWITCHBOARD_LISTEN` and `SWITCHBOARD_ADMIN_LISTEN` from the environment (they
    /// override the file), then validates again.
    pub fn apply_env(&mut self) -> Result<(), ConfigError> {
        for (var, target) in [
            ("SWITCHBOARD_LISTEN", &mut self.gateway.listen),
            ("SWITCHBOARD_ADMIN_LISTEN", &mut self.gateway.admin_listen),
        ] {
            if let Ok(value) = std::env::var(var) {
                *target = value;
            }
        }
        self.validate()
    }

    /// The tenant used when a client does not name one.
    pub fn default_tenant(&self) -> &TenantConfig {
        // `validate` guarantees at least one tenant; the code default covers an unvalidated struct.
        &self.tenants[0]
    }
}

/// Turns a byte span into `line N` for serde errors that carry no key path.
fn describe_span(text: &str, span: std::ops::Range<usize>) -> String {
    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let snippet: String = text
        .get(span)
        .unwrap_or("")
        .chars()
        .take(40)
        .collect::<String>()
        .replace('\n', " ");
    format!("line {line} ({})", snippet.trim())
}

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
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
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
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
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

/// One tenant: its queues, routing rules and policies.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantConfig {
    /// Tenant id, as carried in agent tokens and connector keys.
    pub id: String,
    /// HS256 secret that signs this tenant's agent and bot tokens. Empty: no agent can connect.
    pub jwt_secret: String,
    /// Queue used when no routing rule matches.
    pub default_queue: String,
    /// Queues, each with the skills an agent needs to serve it.
    pub queues: Vec<QueueConfig>,
    /// Routing rules, first match wins.
    pub routes: Vec<RouteRule>,
    /// Base priority and aging.
    pub priority: PriorityConfig,
    /// Answer-time targets per class.
    pub sla: SlaConfig,
    /// VIP fast lane.
    pub vip: VipConfig,
    /// Offers, grace periods, wrap-up, idle closes, sticky routing, queue updates.
    pub timing: TimingConfig,
    /// Bot first, and when a human takes over.
    pub handoff: HandoffConfig,
    /// How many conversations connectors may open, and how fast.
    pub limits: LimitsConfig,
}

/// Limits on new and open conversations, so one connector cannot fill a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// New conversations one connector may open per second, on average.
    pub new_conversations_per_sec: u32,
    /// New conversations one connector may open at once after a quiet spell.
    pub new_conversations_burst: u32,
    /// Conversations open at once per connector.
    pub open_conversations_per_connector: u32,
    /// Conversations open at once in the tenant.
    pub open_conversations: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            new_conversations_per_sec: 1000,
            new_conversations_burst: 2000,
            open_conversations_per_connector: 20_000,
            open_conversations: 200_000,
        }
    }
}

impl LimitsConfig {
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        let limits = [
            ("new_conversations_per_sec", self.new_conversations_per_sec),
            ("new_conversations_burst", self.new_conversations_burst),
            (
                "open_conversations_per_connector",
                self.open_conversations_per_connector,
            ),
            ("open_conversations", self.open_conversations),
        ];
        for (name, value) in limits {
            if value == 0 {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must be at least 1",
                ));
            }
        }
        Ok(())
    }
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig {
            id: "default".to_string(),
            jwt_secret: String::new(),
            default_queue: "general".to_string(),
            queues: vec![QueueConfig {
                name: "general".to_string(),
                skills: vec!["general".to_string()],
            }],
            routes: Vec::new(),
            priority: PriorityConfig::default(),
            sla: SlaConfig::default(),
            vip: VipConfig::default(),
            timing: TimingConfig::default(),
            handoff: HandoffConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

impl TenantConfig {
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if self.id.trim().is_empty() {
            return Err(ConfigError::new(format!("{key}.id"), "must not be empty"));
        }
        if !self.jwt_secret.is_empty() && self.jwt_secret.len() < 16 {
            return Err(ConfigError::new(
                format!("{key}.jwt_secret"),
                "must be at least 16 characters (or empty to refuse every agent)",
            ));
        }
        if self.queues.is_empty() {
            return Err(ConfigError::new(
                format!("{key}.queues"),
                "at least one queue is required",
            ));
        }
        let mut names = BTreeSet::new();
        for (q, queue) in self.queues.iter().enumerate() {
            let qkey = format!("{key}.queues[{q}]");
            if queue.name.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("{qkey}.name"),
                    "must not be empty",
                ));
            }
            if !names.insert(queue.name.as_str()) {
                return Err(ConfigError::new(
                    format!("{qkey}.name"),
                    format!("queue {:?} is defined twice", queue.name),
                ));
            }
            if queue.skills.is_empty() {
                return Err(ConfigError::new(
                    format!("{qkey}.skills"),
                    format!(
                        "queue {:?} requires no skill; name at least one so it is clear who serves it",
                        queue.name
                    ),
                ));
            }
        }
        if !names.contains(self.default_queue.as_str()) {
            return Err(ConfigError::new(
                format!("{key}.default_queue"),
                format!("no queue is named {:?}", self.default_queue),
            ));
        }
        for (r, rule) in self.routes.iter().enumerate() {
            if !names.contains(rule.queue.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.routes[{r}].queue"),
                    format!("no queue is named {:?}", rule.queue),
                ));
            }
            if let Some(level) = rule.min_vip_level {
                if level == 0 {
                    return Err(ConfigError::new(
                        format!("{key}.routes[{r}].min_vip_level"),
                        "VIP levels start at 1",
                    ));
                }
            }
        }
        self.priority.validate(&format!("{key}.priority"))?;
        self.sla.validate(&format!("{key}.sla"))?;
        self.vip.validate(&format!("{key}.vip"))?;
        self.timing.validate(&format!("{key}.timing"))?;
        self.limits.validate(&format!("{key}.limits"))?;
        self.handoff.validate(&format!("{key}.handoff"))
    }
}

/// A queue and the skills an agent must have to serve it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Queue name, unique within the tenant.
    pub name: String,
    /// Every one of these skills is required.
    pub skills: Vec<String>,
}

/// Which kind of customer a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TierMatch {
    /// Customers without a VIP level.
    Standard,
    /// Customers with any VIP level.
    Vip,
}

/// Maps conversations to a queue. Every condition given must hold; an empty list matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Target queue.
    pub queue: String,
    /// Intents, any of which matches.
    #[serde(default)]
    pub intents: Vec<String>,
    /// Channels, any of which matches.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Languages, any of which matches.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Standard or VIP customers only.
    #[serde(default)]
    pub tier: Option<TierMatch>,
    /// VIP customers of at least this level only.
    #[serde(default)]
    pub min_vip_level: Option<u8>,
}

/// Base priority points and aging. Waiting order within a lane is by
/// `priority + aging_points_per_minute × minutes waited`, then arrival.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityConfig {
    /// Points a waiting conversation gains per minute; bounds how long anyone can be overtaken.
    pub aging_points_per_minute: u32,
    /// Points per VIP level (orders VIPs among themselves in the VIP lane).
    pub vip_points_per_level: u32,
    /// Points for a complaint intent.
    pub complaint_points: u32,
    /// Points for an urgent intent.
    pub urgent_points: u32,
    /// Points when the order value is at or above `high_value_order`.
    pub high_value_points: u32,
    /// Order value (minor currency units, e.g. fen) from which `high_value_points` apply.
    pub high_value_order: u64,
    /// Points when the conversation's sentiment is below the handoff threshold.
    pub negative_sentiment_points: u32,
    /// Intents that make a conversation a complaint.
    pub complaint_intents: Vec<String>,
    /// Intents that make a conversation urgent.
    pub urgent_intents: Vec<String>,
}

impl Default for PriorityConfig {
    fn default() -> Self {
        PriorityConfig {
            aging_points_per_minute: 10,
            vip_points_per_level: 20,
            complaint_points: 50,
            urgent_points: 30,
            high_value_points: 20,
            high_value_order: 100_000,
            negative_sentiment_points: 40,
            complaint_intents: vec!["complaint".to_string()],
            urgent_intents: vec!["urgent".to_string()],
        }
    }
}

impl PriorityConfig {
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if self.aging_points_per_minute == 0 {
            return Err(ConfigError::new(
                format!("{key}.aging_points_per_minute"),
                "must be at least 1, or low-priority conversations could wait forever",
            ));
        }
        if self.aging_points_per_minute > 10_000 {
            return Err(ConfigError::new(
                format!("{key}.aging_points_per_minute"),
                "must be at most 10000",
            ));
        }
        for (name, value) in [
            ("vip_points_per_level", self.vip_points_per_level),
            ("complaint_points", self.complaint_points),
            ("urgent_points", self.urgent_points),
            ("high_value_points", self.high_value_points),
            ("negative_sentiment_points", self.negative_sentiment_points),
        ] {
            if value > 100_000 {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must be at most 100000",
                ));
            }
        }
        Ok(())
    }
}

/// Answer-time targets per class, in seconds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// VIP customers.
    pub vip_secs: u32,
    /// Complaints.
    pub complaint_secs: u32,
    /// Urgent tickets.
    pub urgent_secs: u32,
    /// Everyone else.
    pub standard_secs: u32,
    /// Share of customers to answer within their target: what
    /// `switchboard_recommended_agents` staffs for.
    pub service_level: f64,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            vip_secs: 60,
            complaint_secs: 60,
            urgent_secs: 300,
            standard_secs: 180,
            service_level: 0.8,
        }
    }
}

impl SlaConfig {
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        for (name, value) in [
            ("vip_secs", self.vip_secs),
            ("complaint_secs", self.complaint_secs),
            ("urgent_secs", self.urgent_secs),
            ("standard_secs", self.standard_secs),
        ] {
            if value == 0 {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must be at least 1",
                ));
            }
        }
        if !(self.service_level > 0.0 && self.service_level < 1.0) {
            return Err(ConfigError::new(
                format!("{key}.service_level"),
                "must be strictly between 0 and 1",
            ));
        }
        Ok(())
    }
}

/// VIP fast lane.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VipConfig {
    /// Share of the tenant's available human capacity that only VIP conversations may take,
    /// rounded down to whole slots. 0 disables the reserve; the lane ordering still applies.
    pub reserved_share: f64,
}

impl Default for VipConfig {
    fn default() -> Self {
        VipConfig {
            reserved_share: 0.1,
        }
    }
}

impl VipConfig {
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if !(0.0..=0.9).contains(&self.reserved_share) {
            return Err(ConfigError::new(
                format!("{key}.reserved_share"),
                "must be between 0.0 and 0.9 so standard customers are still served",
            ));
        }
        Ok(())
    }
}

/// Timeouts and windows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimingConfig {
    /// An unanswered offer goes to the next agent after this long.
    pub offer_timeout_secs: u32,
    /// After this many offer timeouts in a row an agent is set away.
    pub max_missed_offers: u32,
    /// An agent who refused a conversation is not offered it again for this long.
    pub refusal_cooldown_secs: u32,
    /// A disconnected agent's conversations are held this long for a reconnect.
    pub agent_grace_secs: u32,
    /// An agent's slot stays taken this long after a conversation ends.
    pub wrap_up_secs: u32,
    /// A conversation with no message for this long is closed; 0 never closes.
    pub idle_close_secs: u32,
    /// A returning customer is offered to their previous agent within this window; 0 disables.
    pub sticky_window_secs: u32,
    /// How long a returning customer waits for their previous agent before anyone may take them.
    pub sticky_wait_secs: u32,
    /// How often queue positions and estimated waits are recomputed and sent when changed.
    pub queue_update_interval_ms: u32,
    /// How many recent messages a conversation keeps for the agent who takes it over.
    pub transcript_messages: u32,
    /// How many bytes of text and message ids an offer's transcript carries, newest lines
    /// first; the older ones are left out and counted (`transcript_truncated`).
    pub transcript_bytes: u32,
}

/// The most `transcript_bytes` may be, so the largest offer fits the 2 MiB frame the protocol
/// promises (`gateway::session::MAX_SERVER_FRAME_BYTES`). Escaped as JSON a byte takes at most six
/// (`\u0001`), so the transcript's text and ids take at most 1.5 MiB; the fixed part of 1000
/// lines (about 80 bytes each) and everything else an offer carries, each field within
/// docs/protocol.md's limits, take well under the remaining 512 KiB.
/// [`protocol.rs`: the_largest_offer_fits_the_documented_frame_bound]
pub const TRANSCRIPT_BYTES_MAX: u32 = 256 * 1024;

/// The least `transcript_bytes` may be: room for the newest line whatever it holds (8192
/// characters of up to 4 bytes and a 128-byte id), so an offer always shows it.
pub const TRANSCRIPT_BYTES_MIN: u32 = 64 * 1024;

impl Default for TimingConfig {
    fn default() -> Self {
        TimingConfig {
            offer_timeout_secs: 15,
            max_missed_offers: 3,
            refusal_cooldown_secs: 30,
            agent_grace_secs: 30,
            wrap_up_secs: 10,
            idle_close_secs: 900,
            sticky_window_secs: 1800,
            sticky_wait_secs: 10,
            queue_update_interval_ms: 5000,
            transcript_messages: 20,
            transcript_bytes: TRANSCRIPT_BYTES_MAX,
        }
    }
}

impl TimingConfig {
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        let at_least_one = [
            ("offer_timeout_secs", self.offer_timeout_secs),
            ("max_missed_offers", self.max_missed_offers),
            ("refusal_cooldown_secs", self.refusal_cooldown_secs),
            ("queue_update_interval_ms", self.queue_update_interval_ms),
        ];
        for (name, value) in at_least_one {
            if value == 0 {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must be at least 1",
                ));
            }
        }
        if self.queue_update_interval_ms < 100 {
            return Err(ConfigError::new(
                format!("{key}.queue_update_interval_ms"),
                "must be at least 100 so updates cannot flood connectors",
            ));
        }
        if self.transcript_messages > 1000 {
            return Err(ConfigError::new(
                format!("{key}.transcript_messages"),
                "must be at most 1000",
            ));
        }
        if !(TRANSCRIPT_BYTES_MIN..=TRANSCRIPT_BYTES_MAX).contains(&self.transcript_bytes) {
            return Err(ConfigError::new(
                format!("{key}.transcript_bytes"),
                format!(
                    "must be between {TRANSCRIPT_BYTES_MIN} (the largest line) and \
                     {TRANSCRIPT_BYTES_MAX} (so an offer fits a 2 MiB frame)"
                ),
            ));
        }
        Ok(())
    }
}

/// Bot first, and the triggers that hand a conversation to a human.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandoffConfig {
    /// New conversations go to a bot first when one is available.
    pub bot_first: bool,
    /// Phrases that mean "I want a human". Empty: the built-in Chinese and English list.
    pub human_phrases: Vec<String>,
    /// Hand off after this many bot replies the bot marked unresolved. 0 disables.
    pub max_unresolved_rounds: u32,
    /// Hand off when the smoothed sentiment falls to this value or below (-1 to 1).
    pub sentiment_threshold: f32,
    /// The smoothed sentiment must rise above this again before it can trigger again (hysteresis).
    pub sentiment_recover: f32,
    /// Weight of the newest message in the smoothed sentiment (0 < w ≤ 1; 1 = no smoothing).
    pub sentiment_smoothing: f32,
    /// How many recent scores the agent sees as the sentiment trend.
    pub trend_length: u32,
    /// Intents that skip the bot.
    pub skip_bot_intents: Vec<String>,
    /// Orders worth at least this much (minor units) skip the bot. 0 disables.
    pub skip_bot_order_value: u64,
    /// VIP customers of at least this level skip the bot. 0 disables.
    pub skip_bot_min_vip_level: u8,
    /// Priority points added at handoff, per reason.
    pub points: HandoffPoints,
}

impl Default for HandoffConfig {
    fn default() -> Self {
        HandoffConfig {
            bot_first: true,
            human_phrases: Vec::new(),
            max_unresolved_rounds: 3,
            sentiment_threshold: -0.5,
            sentiment_recover: -0.2,
            sentiment_smoothing: 0.5,
            trend_length: 10,
            skip_bot_intents: vec!["complaint".to_string()],
            skip_bot_order_value: 500_000,
            skip_bot_min_vip_level: 3,
            points: HandoffPoints::default(),
        }
    }
}

impl HandoffConfig {
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if !(-1.0..=1.0).contains(&self.sentiment_threshold) {
            return Err(ConfigError::new(
                format!("{key}.sentiment_threshold"),
                "must be between -1.0 and 1.0",
            ));
        }
        if !(self.sentiment_recover > self.sentiment_threshold && self.sentiment_recover <= 1.0) {
            return Err(ConfigError::new(
                format!("{key}.sentiment_recover"),
                "must be above sentiment_threshold (and at most 1.0), or the trigger would flap",
            ));
        }
        if !(self.sentiment_smoothing > 0.0 && self.sentiment_smoothing <= 1.0) {
            return Err(ConfigError::new(
                format!("{key}.sentiment_smoothing"),
                "must be above 0.0 and at most 1.0",
            ));
        }
        if self.trend_length > 100 {
            return Err(ConfigError::new(
                format!("{key}.trend_length"),
                "must be at most 100",
            ));
        }
        if let Some(i) = self.human_phrases.iter().position(|p| p.trim().is_empty()) {
            return Err(ConfigError::new(
                format!("{key}.human_phrases[{i}]"),
                "must not be empty",
            ));
        }
        Ok(())
    }
}

/// Priority points a conversation gains when it is handed to a human, by reason. They add to
/// the base priority (and to `priority.negative_sentiment_points` when the customer is upset).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandoffPoints {
    /// The customer asked for a human.
    pub customer_request: u32,
    /// The bot asked for a human.
    pub bot_request: u32,
    /// The bot failed `max_unresolved_rounds` times.
    pub bot_unresolved: u32,
    /// The customer's sentiment crossed the threshold.
    pub negative_sentiment: u32,
    /// A rule sent the conversation past the bot.
    pub rule: u32,
    /// The bot went away mid-conversation and no other bot could take it.
    pub bot_unavailable: u32,
}

impl Default for HandoffPoints {
    fn default() -> Self {
        HandoffPoints {
            customer_request: 20,
            bot_request: 20,
            bot_unresolved: 30,
            negative_sentiment: 10,
            rule: 0,
            bot_unavailable: 20,
        }
    }
}

impl fmt::Display for TierMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TierMatch::Standard => "standard",
            TierMatch::Vip => "vip",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_file_is_valid() {
        let config = Config::from_toml_str(EMBEDDED_TOML).expect("embedded config must validate");
        assert_eq!(config.default_tenant().id, "default");
    }

    #[test]
    fn empty_file_gives_a_default_tenant() {
        let config = Config::from_toml_str("").expect("empty config is valid");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_toml_str("[[tenants]]\nid = \"a\"\nqueus = []\n").unwrap_err();
        assert!(err.to_string().contains("queus"), "{err}");
    }

    #[test]
    fn dangling_default_queue_names_the_key() {
        let text = "[[tenants]]\nid = \"a\"\ndefault_queue = \"nope\"\n";
        let err = Config::from_toml_str(text).unwrap_err();
        assert_eq!(err.key, "tenants[0].default_queue");
        assert!(err.reason.contains("nope"));
    }

    #[test]
    fn route_to_unknown_queue_names_the_key() {
        let text = "[[tenants]]\nid = \"a\"\n[[tenants.routes]]\nqueue = \"ghost\"\n";
        let err = Config::from_toml_str(text).unwrap_err();
        assert_eq!(err.key, "tenants[0].routes[0].queue");
    }

    #[test]
    fn zero_aging_is_rejected() {
        let text = "[[tenants]]\nid = \"a\"\n[tenants.priority]\naging_points_per_minute = 0\n";
        let err = Config::from_toml_str(text).unwrap_err();
        assert_eq!(err.key, "tenants[0].priority.aging_points_per_minute");
    }

    #[test]
    fn wrong_type_is_reported_with_its_line() {
        let text = "[[tenants]]\nid = \"a\"\n[tenants.sla]\nvip_secs = \"fast\"\n";
        let err = Config::from_toml_str(text).unwrap_err();
        assert!(err.key.starts_with("line 4"), "{err}");
    }

    #[test]
    fn a_recover_level_below_the_threshold_is_rejected() {
        let text = "[[tenants]]\nid = \"a\"\n[tenants.handoff]\nsentiment_threshold = -0.5\nsentiment_recover = -0.6\n";
        let err = Config::from_toml_str(text).unwrap_err();
        assert_eq!(err.key, "tenants[0].handoff.sentiment_recover");
    }

    #[test]
    fn a_tls_table_needs_both_files_and_names_the_key() {
        let err = Config::from_toml_str("[gateway.tls]\ncert_file = \"c.pem\"\n").unwrap_err();
        assert!(err.reason.contains("key_file"), "{err}");
        let text = "[gateway.admin_tls]\ncert_file = \"c.pem\"\nkey_file = \"\"\n";
        let err = Config::from_toml_str(text).unwrap_err();
        assert_eq!(err.key, "gateway.admin_tls.key_file");
        let text = "[gateway.tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";
        let config = Config::from_toml_str(text).expect("both files named");
        assert_eq!(
            config.gateway.tls.map(|t| t.key_file),
            Some(PathBuf::from("k.pem"))
        );
        assert_eq!(config.gateway.admin_tls, None);
    }

    #[test]
    fn connection_limits_name_their_key() {
        let err = Config::from_toml_str("[gateway]\nlisten_backlog = 0\n").unwrap_err();
        assert_eq!(err.key, "gateway.listen_backlog");
        let text = "[gateway]\nmax_connections = 10\nmax_handshaking_connections = 11\n";
        let err = Config::from_toml_str(text).unwrap_err();
        assert_eq!(err.key, "gateway.max_handshaking_connections");
        assert!(err.reason.contains("between 1 and 10"), "{err}");
        let err = Config::from_toml_str("[gateway]\nauth_failures_per_minute = 0\n").unwrap_err();
        assert_eq!(err.key, "gateway.auth_failures_per_minute");
        let err = Config::from_toml_str("[gateway]\nheader_read_timeout_ms = 1\n").unwrap_err();
        assert_eq!(err.key, "gateway.header_read_timeout_ms");
    }

    #[test]
    fn a_transcript_bytes_that_could_overflow_an_offer_frame_names_the_key() {
        for bytes in [TRANSCRIPT_BYTES_MAX + 1, TRANSCRIPT_BYTES_MIN - 1] {
            let text =
                format!("[[tenants]]\nid = \"a\"\n[tenants.timing]\ntranscript_bytes = {bytes}\n");
            let err = Config::from_toml_str(&text).unwrap_err();
            assert_eq!(err.key, "tenants[0].timing.transcript_bytes");
        }
    }

    #[test]
    fn duplicate_tenant_is_rejected() {
        let text = "[[tenants]]\nid = \"a\"\n[[tenants]]\nid = \"a\"\n";
        let err = Config::from_toml_str(text).unwrap_err();
        assert_eq!(err.key, "tenants[1].id");
    }
}
