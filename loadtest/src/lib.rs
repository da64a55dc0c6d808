//! Load generation for Switchboard over real WebSockets on loopback.
//!
//! Three binaries use this library:
//! - `switchboard-loadtest` (`src/main.rs`, the package's default) plays a peak-sale scenario
//!   (`config/loadtest/*.toml`) against a gateway: customers, bots and human agents following a
//!   seeded plan in real time, with SLA, latency and message-accounting figures and thresholds;
//! - `gateway-bench` (`src/bin/gateway_bench.rs`) drives a target (the real gateway or the
//!   baseline relay, each spawned as a child process so its RSS and CPU are its own) in three
//!   modes: saturated throughput, open-model latency at fixed rates, and idle connections;
//! - `relay-baseline` (`src/bin/relay_baseline.rs`) is the upper bound Switchboard is compared
//!   to; it does not use this library.
//!
//! Layout:
//! - [`clock`]: one shared monotonic epoch, so a send timestamp embedded in a message can be
//!   compared with the receipt time in another task;
//! - [`procfs`]: RSS and CPU time of a process, from `/proc`;
//! - [`target`]: spawning and stopping targets, the bench configuration, agent tokens;
//! - [`client`]: connecting, the handshake, building and scanning frames;
//! - [`bench`]: the modes themselves;
//! - [`report`]: the results, as a table and as JSON;
//! - [`saturate`]: the saturation search (highest sustained rate within a latency budget);
//! - [`rehearsal`]: `switchboard-loadtest`'s scenario player.

#![forbid(unsafe_code)]

pub mod bench;
pub mod client;
pub mod clock;
pub mod procfs;
pub mod rehearsal;
pub mod report;
pub mod saturate;
pub mod target;
