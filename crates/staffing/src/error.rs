//! Why a staffing question could not be answered, and the checks on its inputs that say so.

use std::fmt;

use crate::{MAX_AGENTS, MAX_CONCURRENCY, MAX_QUEUE_STATES};

/// Why a staffing question could not be answered.
///
/// Every variant names the offending field or limit so the message can be shown to an SRE as
/// is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CapacityError {
    /// The field is NaN or infinite (or, for `traffic`, `arrival_per_sec × mean_handle_secs`
    /// overflows).
    NotFinite {
        /// Name of the offending field.
        field: &'static str,
    },
    /// The field is negative and must be zero or more.
    Negative {
        /// Name of the offending field.
        field: &'static str,
    },
    /// The field is zero or negative and must be strictly positive.
    NotPositive {
        /// Name of the offending field.
        field: &'static str,
    },
    /// `target_service_level` is not strictly between 0 and 1.
    ServiceLevelOutOfRange {
        /// The rejected value.
        value: f64,
    },
    /// `concurrency` is 0 or above [`MAX_CONCURRENCY`].
    ConcurrencyOutOfRange {
        /// The rejected value.
        value: u32,
    },
    /// An agent count above [`MAX_AGENTS`] was asked for.
    AgentsOutOfRange {
        /// The rejected value.
        value: u32,
    },
    /// No agent count up to [`MAX_AGENTS`] meets the target.
    Unreachable {
        /// The limit that was searched up to.
        max_agents: u32,
    },
    /// `mean_patience_secs` is more than 10³⁰⁰ times longer or shorter than
    /// `mean_handle_secs`, beyond what `f64` can model.
    PatienceOutOfScale,
    /// The Erlang A queue tail did not become negligible within [`MAX_QUEUE_STATES`] states.
    QueueTooLong {
        /// The number of servers being evaluated.
        servers: u32,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NotFinite { field } => write!(f, "{field} must be a finite number"),
            Self::Negative { field } => write!(f, "{field} must not be negative"),
            Self::NotPositive { field } => write!(f, "{field} must be greater than zero"),
            Self::ServiceLevelOutOfRange { value } => write!(
                f,
                "target_service_level must be strictly between 0 and 1 (a fraction, not a \
                 percentage), got {value}"
            ),
            Self::ConcurrencyOutOfRange { value } => {
                write!(
                    f,
                    "concurrency must be between 1 and {MAX_CONCURRENCY}, got {value}"
                )
            }
            Self::AgentsOutOfRange { value } => {
                write!(f, "agents must be at most {MAX_AGENTS}, got {value}")
            }
            Self::Unreachable { max_agents } => {
                write!(
                    f,
                    "the target cannot be met with {max_agents} agents or fewer"
                )
            }
            Self::PatienceOutOfScale => f.write_str(
                "mean_patience_secs must be within 1e300 times mean_handle_secs either way",
            ),
            Self::QueueTooLong { servers } => write!(
                f,
                "Erlang A queue with {servers} servers needs more than {MAX_QUEUE_STATES} \
                 states; customers this patient are better modelled by Erlang C (omit \
                 mean_patience_secs)"
            ),
        }
    }
}

impl std::error::Error for CapacityError {}

pub(crate) fn finite(field: &'static str, x: f64) -> Result<(), CapacityError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(CapacityError::NotFinite { field })
    }
}

pub(crate) fn non_negative(field: &'static str, x: f64) -> Result<(), CapacityError> {
    finite(field, x)?;
    if x < 0.0 {
        return Err(CapacityError::Negative { field });
    }
    Ok(())
}

/// Strictly positive and normal: a subnormal time is zero for practical purposes, and its
/// reciprocal overflows.
pub(crate) fn positive(field: &'static str, x: f64) -> Result<(), CapacityError> {
    finite(field, x)?;
    if x < f64::MIN_POSITIVE {
        return Err(CapacityError::NotPositive { field });
    }
    Ok(())
}
