//! Switchboard: the realtime core between customer channels, AI bots and human agents.
//!
//! # Layout
//! - [`router`]: the pure routing core — a deterministic state machine per tenant, commands in,
//!   effects out, time passed in. No I/O, no clocks, no locks.
//! - [`capacity`]: staffing with Erlang C and Erlang A (`switchboard capacity`).
//! - [`config`]: the one validated configuration struct, loaded from TOML.
//! - [`protocol`]: the versioned wire protocol — message types, decoding, encoding, error codes.
//! - [`engine`]: router shards on their own threads, sessions, replay buffers, effect delivery.
//! - [`gateway`]: listeners, WebSocket upgrade, authentication, connection tasks, shutdown,
//!   and the admin listener (metrics, admin API, dashboard).
//! - [`metrics`]: the Prometheus metrics.
//! - [`scenario`]: peak-sale scenario files and their seeded plans, shared by the load tester
//!   and the simulator.
//! - [`simulate`]: a scenario played against the pure router in virtual time.
//!
//! Start with `ARCHITECTURE.md` for the bird's-eye view and the invariants.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod capacity;
pub mod config;
pub mod engine;
pub mod gateway;
pub mod metrics;
pub mod protocol;
pub mod router;
pub mod scenario;
pub mod simulate;
