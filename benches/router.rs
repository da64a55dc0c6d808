//! Router benchmarks: the cost of the routing decision itself, no I/O.
//!
//! A saturated tenant: every agent full, a long queue waiting. One *full cycle* is what the router
//! does per served customer in that steady state: an agent closes a conversation (the slot frees
//! and the head of the queue is offered to the best agent), the agent accepts the offer, and a new
//! customer arrives at the back of the queue. Commands are built before the clock starts so only
//! `Router::apply` is measured. Reproduce with `cargo bench --bench router`; figures and method
//! are in `docs/performance.md`.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchboard_config::{Config, TenantConfig};
use switchboard_router::*;

// The same allocator as the `switchboard` binary, so allocation costs are the production ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CAPACITY: u32 = 5;

/// A saturated router and what the harness needs to keep it saturated.
struct Saturated {
    router: Router,
    now: Millis,
    next_id: u64,
    /// Assigned conversations, oldest first: the next ones to close.
    assigned: VecDeque<(AgentId, ConversationId)>,
    out: Vec<Effect>,
}

fn profile(n: u64) -> CustomerProfile {
    CustomerProfile {
        customer_id: format!("cust-{n}"),
        name: None,
        tier: if n % 20 == 0 {
            Tier::Vip(1)
        } else {
            Tier::Standard
        },
        tags: Vec::new(),
        intent: None,
        channel: "app".to_string(),
        language: "zh".to_string(),
        order_value: None,
    }
}

impl Saturated {
    /// `tweak` adjusts the embedded default tenant (every queue-less rule removed, no wrap-up so a
    /// close frees the slot at once).
    fn new(agents: u32, waiting: u64, tweak: impl FnOnce(&mut TenantConfig)) -> Self {
        let mut tenant = Config::embedded().tenants[0].clone();
        tenant.routes.clear();
        tenant.timing.wrap_up_secs = 0;
        tweak(&mut tenant);
        let mut s = Saturated {
            router: Router::new(&tenant),
            now: 1,
            next_id: 0,
            assigned: VecDeque::new(),
            out: Vec::new(),
        };
        for a in 0..agents {
            s.apply(Command::AgentConnect {
                agent: AgentId(a),
                login: AgentLogin {
                    role: Role::Human,
                    capacity: CAPACITY,
                    skills: vec![("general".to_string(), 5)],
                    auto_accept: false,
                },
            });
        }
        // Fill every slot the reserve allows, accepting each offer, then queue `waiting` more.
        loop {
            if !s.arrive_and_accept() {
                break;
            }
        }
        for _ in 1..waiting {
            s.arrive();
        }
        s
    }

    fn apply(&mut self, command: Command) {
        self.out.clear();
        self.router.apply(self.now, command, &mut self.out);
    }

    fn arrive_command(&mut self) -> Command {
        self.next_id += 1;
        Command::Arrive {
            conversation: ConversationId(self.next_id),
            connector: ConnectorId(1),
            profile: profile(self.next_id),
            message: None,
        }
    }

    fn arrive(&mut self) {
        let command = self.arrive_command();
        self.apply_and_accept(command);
    }

    /// Returns whether the arrival was offered (and is now accepted).
    fn arrive_and_accept(&mut self) -> bool {
        let command = self.arrive_command();
        let before = self.assigned.len();
        self.apply_and_accept(command);
        self.assigned.len() > before
    }

    /// Applies a command and accepts whatever it offered.
    fn apply_and_accept(&mut self, command: Command) {
        self.apply(command);
        let offered: Vec<(AgentId, ConversationId)> = offers(&self.out).collect();
        for (agent, conversation) in offered {
            self.apply(Command::Accept {
                agent,
                conversation,
            });
            self.assigned.push_back((agent, conversation));
        }
        black_box(&self.out);
    }

    /// One full cycle: the oldest assignment closes (its slot goes to the head of the queue, who
    /// is accepted), then a new customer arrives.
    fn cycle(&mut self, arrival: Command) {
        // Time moves 1 ms per cycle — a tenant serving 1,000 customers a second — so offer
        // timeouts and the periodic queue-position pass run at their production rate.
        self.now += 1;
        if let Some((agent, conversation)) = self.assigned.pop_front() {
            self.apply_and_accept(Command::AgentClose {
                agent,
                conversation,
            });
        }
        self.apply_and_accept(arrival);
    }

    /// Runs `cycles` full cycles and returns the time they took, harness included (the harness
    /// only scans effects for offers, so the figure errs on the slow side).
    fn run_cycles(&mut self, cycles: u64) -> Duration {
        let arrivals: Vec<Command> = (0..cycles).map(|_| self.arrive_command()).collect();
        let start = Instant::now();
        for arrival in arrivals {
            self.cycle(arrival);
        }
        start.elapsed()
    }

    /// Runs `cycles` full cycles and returns the time spent in the closes alone, each of which
    /// frees a slot and assigns it to the head of the queue.
    fn time_closes(&mut self, cycles: u64) -> Duration {
        let arrivals: Vec<Command> = (0..cycles).map(|_| self.arrive_command()).collect();
        let mut spent = Duration::ZERO;
        for arrival in arrivals {
            self.now += 1;
            if let Some((agent, conversation)) = self.assigned.pop_front() {
                let start = Instant::now();
                self.apply(Command::AgentClose {
                    agent,
                    conversation,
                });
                spent += start.elapsed();
                let offered: Vec<_> = offers(&self.out).collect();
                for (agent, conversation) in offered {
                    self.apply(Command::Accept {
                        agent,
                        conversation,
                    });
                    self.assigned.push_back((agent, conversation));
                }
            }
            self.apply_and_accept(arrival);
        }
        spent
    }
}

fn offers(effects: &[Effect]) -> impl Iterator<Item = (AgentId, ConversationId)> + '_ {
    effects.iter().filter_map(|e| match e {
        Effect::Offer {
            agent,
            conversation,
            ..
        } => Some((*agent, *conversation)),
        _ => None,
    })
}

fn full_cycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("full_cycle");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(1));
    for (agents, waiting) in [(10_000u32, 1_000u64), (10_000, 100_000)] {
        let mut s = Saturated::new(agents, waiting, |_| {});
        group.bench_function(
            BenchmarkId::new(format!("{agents}_agents"), format!("{waiting}_waiting")),
            |b| b.iter_custom(|iters| s.run_cycles(iters)),
        );
    }
    // What sticky routing (a map of every customer served in the last 30 minutes) and idle
    // closes (a timer per assignment) cost on top of the routing decision itself.
    let mut s = Saturated::new(10_000, 100_000, |t| {
        t.timing.sticky_window_secs = 0;
        t.timing.idle_close_secs = 0;
    });
    group.bench_function(
        BenchmarkId::new("10000_agents", "100000_waiting_no_sticky_no_idle"),
        |b| b.iter_custom(|iters| s.run_cycles(iters)),
    );
    group.finish();
}

fn assignment_on_free_slot(c: &mut Criterion) {
    let mut group = c.benchmark_group("assign_on_free_slot");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(1));
    for (agents, waiting) in [(10_000u32, 1_000u64), (10_000, 100_000)] {
        let mut s = Saturated::new(agents, waiting, |_| {});
        group.bench_function(
            BenchmarkId::new(format!("{agents}_agents"), format!("{waiting}_waiting")),
            |b| b.iter_custom(|iters| s.time_closes(iters)),
        );
    }
    group.finish();
}

criterion_group!(benches, full_cycle, assignment_on_free_slot);
criterion_main!(benches);
