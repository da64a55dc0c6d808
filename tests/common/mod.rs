//! Shared helpers for the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

pub mod gateway;
pub mod process;
pub mod tls;
