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

// The maths by model, the question an SRE asks (`recommend`, `evaluate`) apart from both, and
// the errors every part reports. Everything public is re-exported here, so callers see one flat
// crate.
mod erlang_a;
mod erlang_c;
mod error;
mod recommend;

pub use erlang_a::{ErlangA, ErlangAMetrics};
pub use erlang_c::{average_speed_of_answer, erlang_b, erlang_c, occupancy, service_level};
pub use error::CapacityError;
pub use recommend::{evaluate, recommend, Model, Recommendation, StaffingInput};

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
