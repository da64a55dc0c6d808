//! Handoff benchmarks: what judging a customer message costs, and how long the router takes from
//! the message that triggers a handoff to the offer to a free human.
//!
//! Reproduce with `cargo bench --bench handoff`; figures in `docs/performance.md`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard_config::Config;
use switchboard_router::*;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BOT: AgentId = AgentId(1_000_000);
const HUMANS: u32 = 100;

struct Floor {
    router: Router,
    now: Millis,
    next: u64,
    out: Vec<Effect>,
}

impl Floor {
    /// One bot and 100 free human agents.
    fn new() -> Self {
        let mut tenant = Config::embedded().tenants[0].clone();
        tenant.routes.clear();
        tenant.timing.wrap_up_secs = 0;
        let mut floor = Floor {
            router: Router::new(&tenant),
            now: 1,
            next: 0,
            out: Vec::new(),
        };
        floor.apply(Command::AgentConnect {
            agent: BOT,
            login: AgentLogin {
                role: Role::Bot,
                capacity: 100_000,
                skills: Vec::new(),
                auto_accept: true,
            },
        });
        for a in 0..HUMANS {
            floor.apply(Command::AgentConnect {
                agent: AgentId(a),
                login: AgentLogin {
                    role: Role::Human,
                    capacity: 5,
                    skills: vec![("general".into(), 5)],
                    auto_accept: false,
                },
            });
        }
        floor
    }

    fn apply(&mut self, command: Command) {
        self.out.clear();
        self.router.apply(self.now, command, &mut self.out);
    }

    /// A new conversation, now with the bot.
    fn with_bot(&mut self) -> ConversationId {
        self.next += 1;
        let id = ConversationId(self.next);
        self.apply(Command::Arrive {
            conversation: id,
            connector: ConnectorId(1),
            profile: CustomerProfile {
                customer_id: format!("c{}", self.next),
                name: None,
                tier: Tier::Standard,
                tags: Vec::new(),
                intent: None,
                channel: "app".into(),
                language: "zh".into(),
                order_value: None,
            },
            message: None,
        });
        id
    }

    fn say(&mut self, id: ConversationId, text: &Arc<str>, sentiment: Option<f32>) {
        self.apply(Command::CustomerMessage {
            connector: ConnectorId(1),
            conversation: id,
            message: Message {
                text: Arc::clone(text),
                sentiment,
                id: None,
            },
        });
    }
}

fn judging_a_message(c: &mut Criterion) {
    let mut group = c.benchmark_group("customer_message");
    let text: Arc<str> = Arc::from("你好，我想问一下这个订单什么时候能发货，急用，谢谢");
    let mut floor = Floor::new();
    let with_bot = floor.with_bot();
    group.bench_function("to_bot_builtin_scorer", |b| {
        b.iter(|| floor.say(with_bot, &text, None))
    });
    group.bench_function("to_bot_connector_score", |b| {
        b.iter(|| floor.say(with_bot, &text, Some(0.1)))
    });
    // Baseline: a conversation already with a human, connector score: no scorer, no matcher.
    let mut floor = Floor::new();
    let id = floor.with_bot();
    floor.say(id, &Arc::from("转人工"), Some(0.0));
    let agent = floor.router.conversation(id).and_then(|v| v.agent);
    if let Some(agent) = agent {
        floor.apply(Command::Accept {
            agent,
            conversation: id,
        });
    }
    group.bench_function("to_human_connector_score", |b| {
        b.iter(|| floor.say(id, &text, Some(0.1)))
    });
    group.finish();
}

fn trigger_to_offer(c: &mut Criterion) {
    let mut group = c.benchmark_group("handoff");
    let request: Arc<str> = Arc::from("你们这个机器人答非所问，转人工！");
    let mut floor = Floor::new();
    group.bench_function("trigger_message_to_human_offer", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                floor.now += 1;
                let id = floor.with_bot();
                let start = Instant::now();
                floor.say(id, &request, None);
                spent += start.elapsed();
                let offered = floor.out.iter().find_map(|e| match e {
                    Effect::Offer { agent, .. } => Some(*agent),
                    _ => None,
                });
                black_box(&floor.out);
                let Some(agent) = offered else {
                    panic!("a free agent must be offered the conversation");
                };
                floor.apply(Command::Accept {
                    agent,
                    conversation: id,
                });
                floor.apply(Command::AgentClose {
                    agent,
                    conversation: id,
                });
            }
            spent
        })
    });
    group.finish();
}

criterion_group!(benches, judging_a_message, trigger_to_offer);
criterion_main!(benches);
