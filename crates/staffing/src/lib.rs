//! Staffing calculator: how many agents must be on shift so a queue meets its service level.
//!
//! SREs use [`recommend`] before a peak (Singles' Day) to turn a forecast arrival rate into an
//! agent count, e.g. "VIPs answered within 60 s, everyone else within 180 s". Everything here is
//! pure arithmetic on `f64`: no I/O, no clock, no allocation, no `unsafe`.
//!
//! # Units
//!
//! Rates are **per second**, times are **seconds**, traffic is in **Erlangs**
//! (`A = λ · h`: arrival rate × mean handle time, i.e. the mean number of busy servers if
//! capacity were unlimited). Probabilities are fractions in `[0, 1]`, not percentages.
//!
//! # Models
//!
//! ## Erlang C (M/M/c): customers wait forever
//!
//! Poisson arrivals at rate `λ`, exponential handle times with mean `h = 1/μ`, `N` identical
//! servers, one FCFS queue, nobody leaves. With offered traffic `A = λh`:
//!
//! * Erlang B is computed with the recursion `B(0) = 1`,
//!   `B(n) = A·B(n−1) / (n + A·B(n−1))`. Every step is a ratio of positive numbers in `[0, 1]`,
//!   so it neither overflows nor cancels, for any `A` and `N` (no factorials, no powers).
//! * Erlang C (probability that an arrival waits) is `C = N·B / (N − A·(1 − B))` when `N > A`,
//!   and `1` when `N ≤ A` (the queue is unstable and grows without bound).
//! * Service level `P(wait ≤ t) = 1 − C·exp(−(N − A)·t / h)`.
//! * Average speed of answer `ASA = C·h / (N − A)` (mean wait over all customers).
//! * Occupancy `A / N` (fraction of time a server is busy; `≥ 1` means unstable).
//!
//! References: A. K. Erlang (1917), *Solution of some problems in the theory of probabilities of
//! significance in automatic telephone exchanges*; N. Gans, G. Koole, A. Mandelbaum (2003),
//! *Telephone call centers: tutorial, review, and research prospects*, MSOM 5(2).
//!
//! ## Erlang A (M/M/c+M): customers give up
//!
//! As Erlang C, but each waiting customer abandons after an exponential patience with mean
//! `1/θ`. The number in system is a birth–death chain with birth rate `λ` and death rate
//! `min(n, c)·μ + max(n − c, 0)·θ`; it is stable for every `c` because the queue sheds load.
//!
//! *Stationary distribution.* Relative to state `c`, the states below `c` weigh
//! `1/B − 1` in total (`B` is Erlang B, computed as above), and the queue states `c + j` weigh
//! `t_j = Π_{i=1..j} λ / (cμ + iθ)`. Hence
//! `P(wait) = B·S / (1 − B + B·S)` with `S = Σ_{j≥0} t_j`, which is the formula of Garnett,
//! Mandelbaum & Reiman (2002), *Designing a call center with impatient customers*, MSOM 4(3),
//! with their incomplete-gamma term `A(cμ/θ, λ/θ) = S` evaluated as a series instead.
//!
//! *What one customer experiences.* By PASTA an arrival sees the stationary distribution. If it
//! finds `j` customers waiting, its offered wait `V` (time to reach an agent if it were
//! infinitely patient) is a sum of independent exponentials with rates `cμ + kθ`, `k = j..0`,
//! and it is answered iff its patience exceeds `V`. Because those rates are `θ·(a + k)` with
//! `a = cμ/θ`, the variable `e^{−θV}` is `Beta(a, j + 1)` (a product of independent
//! `Beta(a + k, 1)` variables). This gives closed forms:
//!
//! * `P(answered | j) = cμ / (cμ + (j + 1)θ)` and `P(abandon | j) = (j + 1)θ / (cμ + (j + 1)θ)`;
//! * `P(answered and V ≤ t | j) = P(answered | j) · (1 − I_x(a + 1, j + 1))` with
//!   `x = e^{−θt}` and `I` the regularized incomplete beta function; for integer `j + 1`,
//!   `I_x(α, j + 1) = Σ_{k=0..j} u_k` with `u_0 = x^α` and
//!   `u_{k+1} = u_k · (α + k)/(k + 1) · (1 − x)` (a negative-binomial series, summed in log
//!   space so `x^α` may underflow without losing the later terms);
//! * `E[V · 1{answered} | j] = P(answered | j) · Σ_{k=0..j} 1 / (cμ + (k + 1)θ)`.
//!
//! Summing these against the stationary distribution gives [`ErlangAMetrics`]. The mean wait of
//! all arrivals is `E[queue length] / λ` (Little's law), and `P(abandon) = θ·E[queue] / λ`
//! holds as an identity the tests check.
//!
//! *Truncation and its error bound.* The chain is summed for `j = 0, 1, …` and stopped at the
//! first `j` where the ratio `r = λ / (cμ + (j + 1)θ)` is below 1 and
//! `w_j·(j + 1)·r / (1 − r)² ≤ 10⁻¹⁶ · Z_j` (`w_j` the weight of state `c + j`, `Z_j` the total
//! weight so far). Ratios only decrease with `j`, so the neglected states weigh at most
//! `w_j·r/(1 − r)` and contribute at most `w_j·(j + 1)·r/(1 − r)²` to the queue length: every
//! probability is off by at most `10⁻¹⁶` (absolute) and `E[queue]` by at most `10⁻¹⁶`
//! customers. A long tail (overload with very patient customers) is cut off at
//! [`MAX_QUEUE_STATES`] with [`CapacityError::QueueTooLong`] rather than looping; weights are
//! rescaled by `10⁻²⁰⁰` whenever they exceed `10²⁰⁰`, so overload cannot overflow.
//!
//! *Rounding.* Every figure is a ratio of sums of positive terms and is accurate to a few
//! units in the last place, except the Erlang A service level, whose factor `1 − I` is formed
//! by subtraction from a running sum: its absolute error is roughly
//! `2·10⁻¹⁶ × (c·t/h + queue states summed)`. That is below `10⁻¹³` for the queues in the
//! tests and about `10⁻¹¹` for 5 000 servers, a target of six handle times and 90 000 queue
//! states. Harmless for staffing; just do not read service levels below `10⁻¹⁰` as meaningful.
//!
//! *Service level under Erlang A* counts a customer as a success only if an agent answers it
//! within `t`; a customer who abandons, even after two seconds, is a failure. This is the
//! strictest of the usual definitions ("answered within `t` / offered") and the one
//! [`recommend`] staffs against. [`ErlangAMetrics::service_level_answered`] gives the share of
//! *answered* customers answered within `t`, for dashboards that use that definition.
//!
//! ## Chat concurrency
//!
//! A chat agent works `concurrency` conversations at once. As is standard in chat-centre
//! workforce planning, each of the agent's chat slots is modelled as an independent server:
//! `servers = agents × concurrency`, with the *chat* handle time (assignment to close, measured
//! while agents run at that concurrency). This approximation is **optimistic**:
//!
//! * an agent's slots are not independent servers: the chats share one person's attention, so
//!   handle time grows with the number of open chats, and the model assumes it does not;
//! * slots vanish in blocks (an agent on a break takes all its slots away), which erodes the
//!   pooling benefit the model credits;
//! * a pool of `agents × concurrency` servers is larger than the real pool of agents, and
//!   Erlang formulas reward large pools (economies of scale) more than the agents deliver.
//!
//! Use a handle time measured at the target concurrency, and read the result as a lower bound.
//!
//! # Using it for Switchboard
//!
//! * The agent count is for agents **available on the queue**: add shrinkage (breaks, training,
//!   absence) on top, and apply any maximum-occupancy policy yourself.
//! * Run one [`recommend`] per class (VIP at 60 s, everyone else at 180 s). Summing dedicated
//!   pools is usually pessimistic next to one shared pool with VIP priority; priority queues
//!   are not modelled here. [`evaluate`] checks a planned roster against the same target.
//! * **Read `prob_abandon` under Erlang A.** Abandonment relieves the queue, so in overload a
//!   target can be met by letting customers go: service level ≤ 1 − P(abandon) ≤ servers / A.
//!   With a target long next to the patience, the smallest qualifying staffing can sit near
//!   `target_service_level · A` servers with most of the rest abandoning (the tests show 193
//!   agents for 720 Erlangs at concurrency 3, with 20% abandoning). Abandonment is bounded
//!   only by `1 − target_service_level`; if that is too much, raise the target or compare with
//!   Erlang C (no patience), which never trades service for abandonment.
//! * The models assume steady state within the interval: use the peak interval's arrival rate
//!   (e.g. the busiest 15 minutes), not a daily average.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use std::fmt;

/// Largest agent count [`recommend`] and [`evaluate`] consider.
///
/// A target that needs more agents than this is reported as [`CapacityError::Unreachable`]
/// rather than searched for.
pub const MAX_AGENTS: u32 = 100_000;

/// Largest chat concurrency (simultaneous chats per agent) accepted in [`StaffingInput`].
pub const MAX_CONCURRENCY: u32 = 100;

/// Largest number of queue states the Erlang A chain is summed over before giving up with
/// [`CapacityError::QueueTooLong`].
///
/// Only reached in heavy overload with very patient customers (mean patience many times the
/// handle time). Customers that patient behave almost as in Erlang C, which is then the better
/// model (omit the patience).
pub const MAX_QUEUE_STATES: u32 = 10_000_000;

/// Truncation tolerance of the Erlang A chain (see the module docs for the bound).
const TAIL_TOLERANCE: f64 = 1e-16;
/// Erlang A weights are multiplied by `RESCALE` whenever one exceeds `1/RESCALE`.
const RESCALE: f64 = 1e-200;

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

/// Erlang B: probability that an arrival finds all `servers` busy in a loss system
/// (M/M/c/c) offered `traffic_erlangs`.
///
/// Computed with the stable recursion from the module docs in `servers` steps. Returns NaN if
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

/// An Erlang A (M/M/c+M) queue: Poisson arrivals, exponential handle times, exponential
/// patience. Construct with [`ErlangA::new`], then evaluate staffing levels with
/// [`ErlangA::metrics`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangA {
    arrival_per_sec: f64,
    mean_handle_secs: f64,
    mean_patience_secs: f64,
}

/// What an Erlang A queue delivers with a given number of servers and answer-time target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangAMetrics {
    /// Probability that an arrival finds every server busy and has to wait.
    pub prob_wait: f64,
    /// Probability that an arrival abandons before being answered.
    pub prob_abandon: f64,
    /// Probability that an arrival is answered within the target (abandonment counts as a
    /// miss): answered within `t` divided by offered.
    pub service_level: f64,
    /// Probability that an answered customer waited at most the target: answered within `t`
    /// divided by answered. Equals `service_level / (1 − prob_abandon)` (0 with zero servers,
    /// when nobody is answered).
    pub service_level_answered: f64,
    /// Average speed of answer in seconds: mean wait of answered customers (`+∞` if nobody is
    /// ever answered, i.e. zero servers).
    pub asa_secs: f64,
    /// Mean time in queue in seconds over all arrivals, including the time abandoning
    /// customers waited before leaving (`E[queue length] / λ`).
    pub avg_wait_secs: f64,
    /// Fraction of time a server is busy: carried load `λ·(1 − P(abandon))·h` over servers
    /// (0 with zero servers). Always below 1.
    pub occupancy: f64,
}

impl ErlangA {
    /// Validates and builds the queue: `arrival_per_sec ≥ 0`, `mean_handle_secs > 0` and
    /// `mean_patience_secs > 0`, all finite, with the patience within `10³⁰⁰` times the
    /// handle time either way.
    ///
    /// # Errors
    ///
    /// The [`CapacityError`] naming the first field that breaks these rules.
    pub fn new(
        arrival_per_sec: f64,
        mean_handle_secs: f64,
        mean_patience_secs: f64,
    ) -> Result<Self, CapacityError> {
        non_negative("arrival_per_sec", arrival_per_sec)?;
        positive("mean_handle_secs", mean_handle_secs)?;
        positive("mean_patience_secs", mean_patience_secs)?;
        finite("traffic", arrival_per_sec * mean_handle_secs)?;
        if !(1e-300..=1e300).contains(&(mean_handle_secs / mean_patience_secs)) {
            return Err(CapacityError::PatienceOutOfScale);
        }
        Ok(Self {
            arrival_per_sec,
            mean_handle_secs,
            mean_patience_secs,
        })
    }

    /// Offered traffic `λ·h` in Erlangs.
    pub fn traffic_erlangs(&self) -> f64 {
        self.arrival_per_sec * self.mean_handle_secs
    }

    /// Evaluates the queue with `servers` servers (for chat, agents × concurrency) against an
    /// answer-time target of `target_secs` (finite, `≥ 0`).
    ///
    /// Costs `O(servers + queue states)`.
    ///
    /// # Errors
    ///
    /// [`CapacityError::NotFinite`] or [`CapacityError::Negative`] for a bad `target_secs`;
    /// [`CapacityError::QueueTooLong`] if the queue tail needs more than [`MAX_QUEUE_STATES`]
    /// states (see the module docs).
    pub fn metrics(&self, servers: u32, target_secs: f64) -> Result<ErlangAMetrics, CapacityError> {
        non_negative("target_secs", target_secs)?;
        // Work in units of the mean handle time (μ = 1), where every rate is a ratio of the
        // validated inputs and cannot overflow: arrivals at A, servers at c, abandonment at θ/μ.
        let a = self.traffic_erlangs();
        if a == 0.0 {
            return Ok(ErlangAMetrics {
                prob_wait: 0.0,
                prob_abandon: 0.0,
                service_level: 1.0,
                service_level_answered: 1.0,
                asa_secs: 0.0,
                avg_wait_secs: 0.0,
                occupancy: 0.0,
            });
        }
        let h = self.mean_handle_secs;
        let theta = h / self.mean_patience_secs;
        let c = f64::from(servers);
        let t = target_secs / h;

        // Weights relative to π_c / B, so the states below c weigh 1 − B and state c weighs B.
        let b = erlang_b(a, servers);
        let mut below = 1.0 - b;
        let mut w = b;
        let mut queued = 0.0; // Σ w_j: P(wait)
        let mut queue_len = 0.0; // Σ j·w_j: E[queue]
        let mut abandon = 0.0; // Σ w_j·P(abandon | j)
        let mut answered = below; // Σ w·P(answered | j), including those not waiting
        let mut fast = below; // Σ w·P(answered within t | j)
        let mut answered_wait = 0.0; // Σ w_j·E[V·1{answered} | j]

        // (Below, rates are in units of μ: "c" is cμ and "θ" is θ/μ.)
        // Negative-binomial series for I_x(α, j + 1), x = e^{−θt}, α = c/θ + 1, in log space:
        // ln u_0 = α·ln x = −(c + θ)·t; u_{k+1}/u_k = (α + k)/(k + 1)·(1 − x), and
        // α + k = (c + (k + 1)θ)/θ, so the ratio is (c + (k + 1)θ)/(k + 1) · (1 − x)/θ.
        let ln_one_minus_x_over_theta = (-(-theta * t).exp_m1()).ln() - theta.ln();
        let mut ln_u = -(c + theta) * t;
        let mut cum_u = ln_u.exp();
        let mut answered_wait_j = 0.0; // Σ_{k=0..j} 1/(c + (k + 1)θ)

        let mut j: u32 = 0;
        loop {
            let jf = f64::from(j);
            // Rate at which the tagged customer's position advances with j ahead, plus its own
            // abandonment rate: c + (j + 1)θ. It is also the death rate out of state c + j + 1.
            let leave = c + (jf + 1.0) * theta;
            let p_answered = c / leave;
            answered_wait_j += 1.0 / leave;

            queued += w;
            queue_len += jf * w;
            abandon += w * ((jf + 1.0) * theta / leave);
            let w_answered = w * p_answered;
            answered += w_answered;
            fast += w_answered * (1.0 - cum_u.min(1.0));
            answered_wait += w_answered * answered_wait_j;

            let r = a / leave;
            if r < 1.0 {
                let one_minus_r = 1.0 - r;
                let tail = w * (jf + 1.0) * r / (one_minus_r * one_minus_r);
                if tail <= TAIL_TOLERANCE * (below + queued) {
                    break;
                }
            }
            if j >= MAX_QUEUE_STATES {
                return Err(CapacityError::QueueTooLong { servers });
            }
            w *= r;
            if w > 1.0 / RESCALE {
                w *= RESCALE;
                below *= RESCALE;
                queued *= RESCALE;
                queue_len *= RESCALE;
                abandon *= RESCALE;
                answered *= RESCALE;
                fast *= RESCALE;
                answered_wait *= RESCALE;
            }
            ln_u += (leave / (jf + 1.0)).ln() + ln_one_minus_x_over_theta;
            cum_u += ln_u.exp();
            j += 1;
        }

        let z = below + queued;
        let prob_answered = answered / z;
        Ok(ErlangAMetrics {
            prob_wait: clamp01(queued / z),
            prob_abandon: clamp01(abandon / z),
            service_level: clamp01(fast / z),
            service_level_answered: if answered > 0.0 {
                clamp01(fast / answered)
            } else {
                0.0
            },
            asa_secs: if answered > 0.0 {
                answered_wait / answered * h
            } else {
                f64::INFINITY
            },
            avg_wait_secs: queue_len / z / a * h,
            occupancy: if servers == 0 {
                0.0
            } else {
                clamp01(a * prob_answered / c)
            },
        })
    }
}

/// A staffing question: the forecast for one queue (or customer class) and its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaffingInput {
    /// Forecast arrival rate λ in conversations per second (e.g. peak-interval volume / 900
    /// for a 15-minute interval). Must be finite and `≥ 0`.
    pub arrival_per_sec: f64,
    /// Mean handle time `h` in seconds, per conversation, measured at `concurrency`
    /// (assignment to close). Must be finite and `> 0`.
    pub mean_handle_secs: f64,
    /// Conversations one agent handles at once: 1 for voice, e.g. 3 for chat. Each slot is
    /// modelled as a server (see the module docs for why that is optimistic). `1..=100`.
    pub concurrency: u32,
    /// Answer-time target `t` in seconds (e.g. 60 for VIPs, 180 for everyone else). Finite,
    /// `≥ 0`.
    pub target_secs: f64,
    /// Fraction of customers that must be answered within `target_secs`, strictly between 0
    /// and 1 (e.g. 0.8 or 0.95).
    pub target_service_level: f64,
    /// Mean patience in seconds before a waiting customer gives up. `Some` selects Erlang A
    /// (abandonment counts as a miss); `None` selects Erlang C (nobody gives up). Finite and
    /// `> 0` when given.
    pub mean_patience_secs: Option<f64>,
}

/// Which queueing model produced a [`Recommendation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// M/M/c, customers never abandon (no patience given).
    ErlangC,
    /// M/M/c+M, customers abandon after an exponential patience.
    ErlangA,
}

/// Agents needed (from [`recommend`]) or what a given roster delivers (from [`evaluate`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recommendation {
    /// The model used: Erlang A if a patience was given, else Erlang C.
    pub model: Model,
    /// Agents on the queue (before shrinkage).
    pub agents: u32,
    /// Servers modelled: `agents × concurrency`.
    pub servers: u32,
    /// Offered traffic `λ·h` in Erlangs.
    pub traffic_erlangs: f64,
    /// Achieved service level: fraction answered within the target (Erlang A: abandonment
    /// counts as a miss).
    pub service_level: f64,
    /// Probability that a customer waits at all.
    pub prob_wait: f64,
    /// Average speed of answer in seconds (Erlang A: over answered customers). `+∞` when the
    /// staffing cannot answer anyone in finite mean time.
    pub asa_secs: f64,
    /// Probability of abandonment: `Some` under Erlang A, `None` under Erlang C (which does
    /// not model it).
    pub prob_abandon: Option<f64>,
    /// Fraction of time each modelled server is busy (Erlang C: `λ·h / servers`, `≥ 1` means
    /// unstable; Erlang A: carried load over servers).
    pub occupancy: f64,
    /// Whether `service_level ≥ target_service_level` (and, for Erlang C, the queue is
    /// stable). Always `true` for a result of [`recommend`].
    pub meets_target: bool,
}

/// Smallest number of agents meeting `input`'s target, with what that staffing delivers.
///
/// Uses Erlang A when `mean_patience_secs` is given, else Erlang C (where only stable staffing,
/// occupancy below 1, can qualify). Zero arrivals need zero agents. Erlang C is scanned
/// upwards one agent at a time, extending the Erlang B recursion incrementally, so the answer
/// is the least qualifying count by construction; Erlang A starts at the lower bound
/// `servers ≥ target · λh` (service level never exceeds the answered share, which is at most
/// `servers / λh`) and gallops then bisects, relying on its service level increasing with
/// servers. The search never goes beyond [`MAX_AGENTS`].
///
/// # Errors
///
/// Invalid input (see [`StaffingInput`]), [`CapacityError::Unreachable`] when even
/// [`MAX_AGENTS`] agents fall short, and [`CapacityError::QueueTooLong`] (Erlang A only).
pub fn recommend(input: &StaffingInput) -> Result<Recommendation, CapacityError> {
    let v = Validated::new(input)?;
    if v.traffic == 0.0 {
        return v.evaluate(0);
    }
    match v.erlang_a {
        None => v.recommend_erlang_c(),
        Some(queue) => v.recommend_erlang_a(&queue),
    }
}

/// What `agents` agents deliver for `input` (same model choice as [`recommend`]); use it to
/// check a planned roster. `meets_target` tells whether the target is met.
///
/// # Errors
///
/// Invalid input, `agents` above [`MAX_AGENTS`], or [`CapacityError::QueueTooLong`].
pub fn evaluate(input: &StaffingInput, agents: u32) -> Result<Recommendation, CapacityError> {
    Validated::new(input)?.evaluate(agents)
}

/// Inputs that passed validation.
struct Validated {
    handle: f64,
    concurrency: u32,
    target_secs: f64,
    target: f64,
    traffic: f64,
    erlang_a: Option<ErlangA>,
}

impl Validated {
    fn new(input: &StaffingInput) -> Result<Self, CapacityError> {
        non_negative("arrival_per_sec", input.arrival_per_sec)?;
        positive("mean_handle_secs", input.mean_handle_secs)?;
        if input.concurrency == 0 || input.concurrency > MAX_CONCURRENCY {
            return Err(CapacityError::ConcurrencyOutOfRange {
                value: input.concurrency,
            });
        }
        non_negative("target_secs", input.target_secs)?;
        let target = input.target_service_level;
        finite("target_service_level", target)?;
        if !(target > 0.0 && target < 1.0) {
            return Err(CapacityError::ServiceLevelOutOfRange { value: target });
        }
        let traffic = input.arrival_per_sec * input.mean_handle_secs;
        finite("traffic", traffic)?;
        let erlang_a = match input.mean_patience_secs {
            None => None,
            Some(p) => Some(ErlangA::new(
                input.arrival_per_sec,
                input.mean_handle_secs,
                p,
            )?),
        };
        Ok(Self {
            handle: input.mean_handle_secs,
            concurrency: input.concurrency,
            target_secs: input.target_secs,
            target,
            traffic,
            erlang_a,
        })
    }

    /// Servers for `agents` agents; `agents ≤ MAX_AGENTS` keeps this within `u32`.
    fn servers(&self, agents: u32) -> u32 {
        agents.saturating_mul(self.concurrency)
    }

    fn evaluate(&self, agents: u32) -> Result<Recommendation, CapacityError> {
        if agents > MAX_AGENTS {
            return Err(CapacityError::AgentsOutOfRange { value: agents });
        }
        match &self.erlang_a {
            None => {
                let servers = self.servers(agents);
                let point = ErlangCPoint::new(self.traffic, servers, self.handle, self.target_secs);
                Ok(self.erlang_c_result(agents, &point))
            }
            Some(queue) => self.erlang_a_at(queue, agents),
        }
    }

    fn erlang_c_result(&self, agents: u32, point: &ErlangCPoint) -> Recommendation {
        let stable = self.traffic == 0.0 || point.occupancy < 1.0;
        Recommendation {
            model: Model::ErlangC,
            agents,
            servers: self.servers(agents),
            traffic_erlangs: self.traffic,
            service_level: point.service_level,
            prob_wait: point.prob_wait,
            asa_secs: point.asa_secs,
            prob_abandon: None,
            occupancy: point.occupancy,
            meets_target: stable && point.service_level >= self.target,
        }
    }

    fn erlang_a_at(&self, queue: &ErlangA, agents: u32) -> Result<Recommendation, CapacityError> {
        let servers = self.servers(agents);
        let m = queue.metrics(servers, self.target_secs)?;
        Ok(Recommendation {
            model: Model::ErlangA,
            agents,
            servers,
            traffic_erlangs: self.traffic,
            service_level: m.service_level,
            prob_wait: m.prob_wait,
            asa_secs: m.asa_secs,
            prob_abandon: Some(m.prob_abandon),
            occupancy: m.occupancy,
            meets_target: m.service_level >= self.target,
        })
    }

    /// Linear scan over agents, extending Erlang B by `concurrency` servers per step.
    fn recommend_erlang_c(&self) -> Result<Recommendation, CapacityError> {
        let unreachable = CapacityError::Unreachable {
            max_agents: MAX_AGENTS,
        };
        // Stability alone needs more than traffic / concurrency agents.
        if self.traffic / f64::from(self.concurrency) >= f64::from(MAX_AGENTS) {
            return Err(unreachable);
        }
        let mut b = 1.0;
        let mut servers: u32 = 0;
        for agents in 1..=MAX_AGENTS {
            for _ in 0..self.concurrency {
                servers += 1;
                let ab = self.traffic * b;
                b = ab / (f64::from(servers) + ab);
            }
            if f64::from(servers) <= self.traffic {
                continue;
            }
            let point =
                ErlangCPoint::from_b(self.traffic, servers, b, self.handle, self.target_secs);
            if point.service_level >= self.target {
                return Ok(self.erlang_c_result(agents, &point));
            }
        }
        Err(unreachable)
    }

    /// Gallop from a proven lower bound, then bisect.
    fn recommend_erlang_a(&self, queue: &ErlangA) -> Result<Recommendation, CapacityError> {
        let unreachable = CapacityError::Unreachable {
            max_agents: MAX_AGENTS,
        };
        // service level ≤ P(answered) ≤ servers / traffic, so servers ≥ target · traffic is
        // necessary. One agent of slack absorbs rounding; `fails` never meets the target.
        let bound = (self.target * self.traffic / f64::from(self.concurrency)).floor();
        if bound > f64::from(MAX_AGENTS) {
            return Err(unreachable);
        }
        // `bound` is in [0, MAX_AGENTS], so the conversion is exact.
        let mut fails = (bound as u32).saturating_sub(2);
        let mut hi = fails + 1;
        let mut step: u32 = 1;
        let mut best = loop {
            let r = self.erlang_a_at(queue, hi)?;
            if r.meets_target {
                break r;
            }
            if hi == MAX_AGENTS {
                return Err(unreachable);
            }
            fails = hi;
            hi = hi.saturating_add(step).min(MAX_AGENTS);
            step = step.saturating_mul(2);
        };
        while best.agents - fails > 1 {
            let mid = fails + (best.agents - fails) / 2;
            let r = self.erlang_a_at(queue, mid)?;
            if r.meets_target {
                best = r;
            } else {
                fails = mid;
            }
        }
        Ok(best)
    }
}

/// Erlang C figures for one staffing level.
struct ErlangCPoint {
    prob_wait: f64,
    service_level: f64,
    asa_secs: f64,
    occupancy: f64,
}

impl ErlangCPoint {
    /// `traffic` finite and `≥ 0`, `handle > 0`, `target ≥ 0` (callers validate).
    fn new(traffic: f64, servers: u32, handle: f64, target: f64) -> Self {
        Self::from_b(traffic, servers, erlang_b(traffic, servers), handle, target)
    }

    /// As [`ErlangCPoint::new`] with `b = erlang_b(traffic, servers)` already known.
    fn from_b(traffic: f64, servers: u32, b: f64, handle: f64, target: f64) -> Self {
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

fn clamp01(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

fn finite(field: &'static str, x: f64) -> Result<(), CapacityError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(CapacityError::NotFinite { field })
    }
}

fn non_negative(field: &'static str, x: f64) -> Result<(), CapacityError> {
    finite(field, x)?;
    if x < 0.0 {
        return Err(CapacityError::Negative { field });
    }
    Ok(())
}

/// Strictly positive and normal: a subnormal time is zero for practical purposes, and its
/// reciprocal overflows.
fn positive(field: &'static str, x: f64) -> Result<(), CapacityError> {
    finite(field, x)?;
    if x < f64::MIN_POSITIVE {
        return Err(CapacityError::NotPositive { field });
    }
    Ok(())
}
