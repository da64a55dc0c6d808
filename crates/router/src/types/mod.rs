//! The router's vocabulary, re-exported at the crate root: ids and time (`ids.rs`), the closed
//! vocabularies of tiers, lanes, states and reasons (`domain.rs`), commands in (`commands.rs`),
//! effects out (`effects.rs`) and the read-only views tests and operators look through
//! (`views.rs`).

mod commands;
mod domain;
mod effects;
mod ids;
mod views;

pub use switchboard_text::extract::Numbers;

pub use commands::*;
pub use domain::*;
pub use effects::*;
pub use ids::*;
pub use views::*;
