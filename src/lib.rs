//! Switchboard: the realtime core between customer channels, AI bots and human agents.
//!
//! # Layout
//! This crate is the server: the imperative shell around the pure crates under `crates/`
//! (`switchboard-router`, `-text`, `-protocol`, `-config`, `-staffing`, `-sim`).
//! - [`engine`]: shard threads owning the tenant cores, the journal (records, writer and
//!   snapshot threads, hold-back of outputs until durable) and recovery at start.
//! - [`gateway`]: listeners, WebSocket upgrade, authentication, connection tasks, shutdown,
//!   and the admin listener (metrics, admin API, dashboard).
//! - [`metrics`]: the Prometheus metrics.
//! - [`inspect`]: `switchboard journal verify` and `dump`, masked.
//!
//! Start with `ARCHITECTURE.md` for the bird's-eye view and the invariants.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod engine;
pub mod gateway;
pub mod inspect;
pub mod metrics;
