//! Text analysis for routing, with no I/O: how upset a customer sounds ([`sentiment`]), whether
//! they asked for a person ([`human_request`]), and the order and tracking numbers they wrote
//! ([`extract`]). The router calls these through the traits each module exports.
//!
//! All three read text through one normalisation, [`fold`], which also defines where a clause
//! ends. The word lists are data files under `data/`, embedded at compile time and parsed once.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

mod data;
pub mod extract;
pub mod fold;
pub mod human_request;
pub mod sentiment;
