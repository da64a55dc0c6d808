//! The question an SRE asks: the fewest agents meeting a target ([`recommend`]), or what a
//! roster delivers ([`evaluate`]), under Erlang A when customers give up and Erlang C when not.

use crate::erlang_a::ErlangA;
use crate::erlang_c::ErlangCPoint;
use crate::error::{finite, non_negative, positive, CapacityError};
use crate::{MAX_AGENTS, MAX_CONCURRENCY};

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
    /// modelled as a server (see the crate docs for why that is optimistic). `1..=100`.
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
