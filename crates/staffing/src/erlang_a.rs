//! Erlang A (M/M/c+M, customers give up): the birth–death chain summed state by state, with
//! the truncation bound and rescaling described in the crate docs.

use crate::erlang_c::{clamp01, erlang_b};
use crate::error::{finite, non_negative, positive, CapacityError};
use crate::MAX_QUEUE_STATES;

/// Truncation tolerance of the Erlang A chain (see the crate docs for the bound).
const TAIL_TOLERANCE: f64 = 1e-16;
/// Erlang A weights are multiplied by `RESCALE` whenever one exceeds `1/RESCALE`.
const RESCALE: f64 = 1e-200;

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
    /// states (see the crate docs).
    pub fn metrics(&self, servers: u32, target_secs: f64) -> Result<ErlangAMetrics, CapacityError> {
        non_negative("target_secs", target_secs)?;
        // Work in units of the mean handle time (μ = 1), where every rate is a ratio of the
        // validated inputs and cannot overflow: arrivals at A, servers at c, abandonment at θ/μ.
        let a = self.traffic_erlangs();
        if a == 0.0 {
            return Ok(ErlangAMetrics::IDLE);
        }
        let h = self.mean_handle_secs;
        let theta = h / self.mean_patience_secs;
        let c = f64::from(servers);
        let t = target_secs / h;

        // Weights relative to π_c / B, so the states below c weigh 1 − B and state c weighs B.
        let b = erlang_b(a, servers);
        let mut sums = Sums::new(b);
        let mut w = b;
        let mut series = AnsweredSeries::new(c, theta, t);
        let mut answered_wait_j = 0.0; // Σ_{k=0..j} 1/(c + (k + 1)θ)

        let mut j: u32 = 0;
        loop {
            let jf = f64::from(j);
            // Rate at which the tagged customer's position advances with j ahead, plus its own
            // abandonment rate: c + (j + 1)θ. It is also the death rate out of state c + j + 1.
            let leave = c + (jf + 1.0) * theta;
            answered_wait_j += 1.0 / leave;
            sums.add_state(
                w,
                jf,
                c / leave,
                (jf + 1.0) * theta / leave,
                &series,
                answered_wait_j,
            );

            let r = a / leave;
            if r < 1.0 {
                let one_minus_r = 1.0 - r;
                let tail = w * (jf + 1.0) * r / (one_minus_r * one_minus_r);
                if tail <= TAIL_TOLERANCE * sums.total() {
                    break;
                }
            }
            if j >= MAX_QUEUE_STATES {
                return Err(CapacityError::QueueTooLong { servers });
            }
            w *= r;
            // Overload makes the weights grow geometrically; every figure is a ratio of them,
            // so scaling all of them together changes nothing but keeps them finite.
            if w > 1.0 / RESCALE {
                w *= RESCALE;
                sums.rescale();
            }
            series.advance(leave, jf);
            j += 1;
        }
        Ok(sums.metrics(a, c, h, servers))
    }
}

impl ErlangAMetrics {
    /// No traffic: nobody waits, everyone is answered at once.
    const IDLE: ErlangAMetrics = ErlangAMetrics {
        prob_wait: 0.0,
        prob_abandon: 0.0,
        service_level: 1.0,
        service_level_answered: 1.0,
        asa_secs: 0.0,
        avg_wait_secs: 0.0,
        occupancy: 0.0,
    };
}

/// The chain's running sums, as weights relative to `π_c / B` (see [`ErlangA::metrics`]); each
/// figure is a ratio of two of them.
struct Sums {
    /// Weight of the states below `c`: `1 − B`.
    below: f64,
    /// `Σ w_j`: `P(wait)`.
    queued: f64,
    /// `Σ j·w_j`: `E[queue]`.
    queue_len: f64,
    /// `Σ w_j·P(abandon | j)`.
    abandon: f64,
    /// `Σ w·P(answered | j)`, including those not waiting.
    answered: f64,
    /// `Σ w·P(answered within t | j)`.
    fast: f64,
    /// `Σ w_j·E[V·1{answered} | j]`.
    answered_wait: f64,
}

impl Sums {
    /// Before any queue state: everyone below `c` is answered at once.
    fn new(b: f64) -> Self {
        let below = 1.0 - b;
        Sums {
            below,
            queued: 0.0,
            queue_len: 0.0,
            abandon: 0.0,
            answered: below,
            fast: below,
            answered_wait: 0.0,
        }
    }

    /// Adds queue state `c + j` of weight `w`, where an arrival is answered with probability
    /// `p_answered`, abandons with `p_abandon`, and waits `answered_wait_j` (in handle times)
    /// on average if answered.
    fn add_state(
        &mut self,
        w: f64,
        jf: f64,
        p_answered: f64,
        p_abandon: f64,
        series: &AnsweredSeries,
        answered_wait_j: f64,
    ) {
        self.queued += w;
        self.queue_len += jf * w;
        self.abandon += w * p_abandon;
        let w_answered = w * p_answered;
        self.answered += w_answered;
        self.fast += w_answered * series.within_target();
        self.answered_wait += w_answered * answered_wait_j;
    }

    /// Total weight so far, `Z_j` of the truncation bound.
    fn total(&self) -> f64 {
        self.below + self.queued
    }

    fn rescale(&mut self) {
        self.below *= RESCALE;
        self.queued *= RESCALE;
        self.queue_len *= RESCALE;
        self.abandon *= RESCALE;
        self.answered *= RESCALE;
        self.fast *= RESCALE;
        self.answered_wait *= RESCALE;
    }

    /// The figures, for traffic `a` (Erlangs) on `c` servers with mean handle time `h` seconds.
    fn metrics(&self, a: f64, c: f64, h: f64, servers: u32) -> ErlangAMetrics {
        let z = self.total();
        let prob_answered = self.answered / z;
        ErlangAMetrics {
            prob_wait: clamp01(self.queued / z),
            prob_abandon: clamp01(self.abandon / z),
            service_level: clamp01(self.fast / z),
            service_level_answered: if self.answered > 0.0 {
                clamp01(self.fast / self.answered)
            } else {
                0.0
            },
            asa_secs: if self.answered > 0.0 {
                self.answered_wait / self.answered * h
            } else {
                f64::INFINITY
            },
            avg_wait_secs: self.queue_len / z / a * h,
            occupancy: if servers == 0 {
                0.0
            } else {
                clamp01(a * prob_answered / c)
            },
        }
    }
}

/// The negative-binomial series for `I_x(α, j + 1)`, `x = e^{−θt}`, `α = c/θ + 1`, summed in
/// log space so `x^α` may underflow without losing the later terms. (Rates are in units of μ:
/// "c" is cμ and "θ" is θ/μ.) `ln u_0 = α·ln x = −(c + θ)·t`; `u_{k+1}/u_k = (α + k)/(k + 1)·(1 − x)`,
/// and `α + k = (c + (k + 1)θ)/θ`, so the ratio is `(c + (k + 1)θ)/(k + 1) · (1 − x)/θ`.
struct AnsweredSeries {
    ln_one_minus_x_over_theta: f64,
    ln_u: f64,
    cum_u: f64,
}

impl AnsweredSeries {
    fn new(c: f64, theta: f64, t: f64) -> Self {
        let ln_u = -(c + theta) * t;
        AnsweredSeries {
            ln_one_minus_x_over_theta: (-(-theta * t).exp_m1()).ln() - theta.ln(),
            ln_u,
            cum_u: ln_u.exp(),
        }
    }

    /// `1 − I_x(a + 1, j + 1)`: the share of state `j`'s answered arrivals answered within the
    /// target.
    fn within_target(&self) -> f64 {
        1.0 - self.cum_u.min(1.0)
    }

    /// On to state `j + 1`, given state `j`'s `leave = c + (j + 1)θ`.
    fn advance(&mut self, leave: f64, jf: f64) {
        self.ln_u += (leave / (jf + 1.0)).ln() + self.ln_one_minus_x_over_theta;
        self.cum_u += self.ln_u.exp();
    }
}
