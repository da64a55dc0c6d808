//! Text analysis for routing, with no I/O: how upset a customer sounds ([`sentiment`]), whether
//! they asked for a person ([`human_request`]), and the order and tracking numbers they wrote
//! ([`extract`]). The router calls these through the traits each module exports.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod extract;
pub mod human_request;
pub mod sentiment;
