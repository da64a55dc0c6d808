//! Erlang B and Erlang C (M/M/c, nobody gives up): the formulas of the crate docs, each step a
//! ratio of positive numbers so nothing overflows or cancels.

/// Erlang B: probability that an arrival finds all `servers` busy in a loss system
/// (M/M/c/c) offered `traffic_erlangs`.
///
/// Computed with the stable recursion from the crate docs in `servers` steps. Returns NaN if
/// `traffic_erlangs` is negative or not finite.
pub fn erlang_b(traffic_erlangs: f64, servers: u32) -> f64 {
    if !(traffic_erlangs.is_finite() && traffic_erlangs >= 0.0) {
        return f64::NAN;
    }
    let mut b = 1.0;
    for n in 1..=servers {
        let ab = traffic_erlangs * b;
        b = ab / (f64::from(n) + ab);
    }
    b
}

/// Erlang C: probability that an arrival has to wait in an M/M/c queue offered
/// `traffic_erlangs` with `agents` servers (for chat, pass agents × concurrency).
///
/// Returns 1 when `agents ≤ traffic_erlangs` (unstable: the queue grows without bound), 0 when
/// there is no traffic, and NaN if `traffic_erlangs` is negative or not finite.
pub fn erlang_c(traffic_erlangs: f64, agents: u32) -> f64 {
    if !(traffic_erlangs.is_finite() && traffic_erlangs >= 0.0) {
        return f64::NAN;
    }
    if traffic_erlangs == 0.0 {
        return 0.0;
    }
    let n = f64::from(agents);
    if n <= traffic_erlangs {
        return 1.0;
    }
    erlang_c_from_b(traffic_erlangs, n, erlang_b(traffic_erlangs, agents))
}

/// Erlang C service level: `P(wait ≤ target_secs)` for M/M/c with `agents` servers.
///
/// `arrival_per_sec` is λ, `mean_handle_secs` the mean handle time. Returns 1 without traffic,
/// 0 when unstable (`agents ≤ λ·h`), and NaN for invalid input (non-finite values, negative
/// rate or target, handle time not positive).
pub fn service_level(
    arrival_per_sec: f64,
    mean_handle_secs: f64,
    agents: u32,
    target_secs: f64,
) -> f64 {
    let Some(a) = traffic(arrival_per_sec, mean_handle_secs) else {
        return f64::NAN;
    };
    if !(target_secs.is_finite() && target_secs >= 0.0) {
        return f64::NAN;
    }
    ErlangCPoint::new(a, agents, mean_handle_secs, target_secs).service_level
}

/// Erlang C average speed of answer in seconds: mean wait over all customers, `C·h / (N − A)`.
///
/// Returns 0 without traffic, `+∞` when unstable (`agents ≤ λ·h`), NaN for invalid input.
pub fn average_speed_of_answer(arrival_per_sec: f64, mean_handle_secs: f64, agents: u32) -> f64 {
    let Some(a) = traffic(arrival_per_sec, mean_handle_secs) else {
        return f64::NAN;
    };
    ErlangCPoint::new(a, agents, mean_handle_secs, 0.0).asa_secs
}

/// Erlang C occupancy: offered load per server, `λ·h / agents`.
///
/// Below 1 it is the fraction of time each server is busy; 1 or more means the queue is
/// unstable (`+∞` for zero agents with traffic). Returns 0 without traffic, NaN for invalid
/// input.
pub fn occupancy(arrival_per_sec: f64, mean_handle_secs: f64, agents: u32) -> f64 {
    let Some(a) = traffic(arrival_per_sec, mean_handle_secs) else {
        return f64::NAN;
    };
    ErlangCPoint::new(a, agents, mean_handle_secs, 0.0).occupancy
}

/// Erlang C figures for one staffing level.
pub(crate) struct ErlangCPoint {
    pub(crate) prob_wait: f64,
    pub(crate) service_level: f64,
    pub(crate) asa_secs: f64,
    pub(crate) occupancy: f64,
}

impl ErlangCPoint {
    /// `traffic` finite and `≥ 0`, `handle > 0`, `target ≥ 0` (callers validate).
    pub(crate) fn new(traffic: f64, servers: u32, handle: f64, target: f64) -> Self {
        Self::from_b(traffic, servers, erlang_b(traffic, servers), handle, target)
    }

    /// As [`ErlangCPoint::new`] with `b = erlang_b(traffic, servers)` already known.
    pub(crate) fn from_b(traffic: f64, servers: u32, b: f64, handle: f64, target: f64) -> Self {
        let n = f64::from(servers);
        if traffic == 0.0 {
            return Self {
                prob_wait: 0.0,
                service_level: 1.0,
                asa_secs: 0.0,
                occupancy: 0.0,
            };
        }
        if n <= traffic {
            return Self {
                prob_wait: 1.0,
                service_level: 0.0,
                asa_secs: f64::INFINITY,
                occupancy: traffic / n,
            };
        }
        let c = erlang_c_from_b(traffic, n, b);
        let spare = n - traffic;
        Self {
            prob_wait: c,
            service_level: clamp01(1.0 - c * (-spare * target / handle).exp()),
            asa_secs: c * handle / spare,
            occupancy: traffic / n,
        }
    }
}

/// `C = N·B / (N − A·(1 − B))`, for `N > A > 0`.
fn erlang_c_from_b(a: f64, n: f64, b: f64) -> f64 {
    clamp01(n * b / (n - a * (1.0 - b)))
}

/// `λ·h` if both are valid (`λ ≥ 0`, `h > 0`, product finite).
fn traffic(arrival_per_sec: f64, mean_handle_secs: f64) -> Option<f64> {
    let valid = arrival_per_sec.is_finite()
        && arrival_per_sec >= 0.0
        && mean_handle_secs.is_finite()
        && mean_handle_secs > 0.0;
    let a = arrival_per_sec * mean_handle_secs;
    (valid && a.is_finite()).then_some(a)
}

/// Rounding may push a probability a hair outside `[0, 1]`; callers promise a probability.
pub(crate) fn clamp01(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}
