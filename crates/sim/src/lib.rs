//! Peak-sale rehearsal without sockets: [`scenario`] files and their seeded plans (shared with the
//! load tester, which plays the same plan against a real gateway), and [`simulate`], which plays a
//! plan against the pure router in virtual time and compares it with the staffing maths.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod scenario;
pub mod simulate;
