//! What the metrics cost per relayed message: the exact operations the gateway performs for one
//! customer message on its way to an agent, against pre-resolved children as in production.
//!
//! Per message the gateway does: one `messages_received` increment (reader), one router command
//! with its apply-time observation (two clock reads and a histogram observe) and command count
//! (shard), a rolling-window bump (shard), and one `messages_sent` increment per flushed frame
//! (writer). Reproduce with `cargo bench --bench metrics`; the comparison with the relay's own
//! per-message cost is in `docs/performance.md`.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard::metrics::Metrics;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn per_message(c: &mut Criterion) {
    let metrics = Metrics::new();
    let received = metrics.messages_received.with_label_values(&["connector"]);
    let sent = metrics.messages_sent.with_label_values(&["agent"]);
    let commands = metrics.router_commands.with_label_values(&["0"]);
    let apply_time = metrics.apply_time.with_label_values(&["0"]);
    c.bench_function("metrics_per_relayed_message", |b| {
        b.iter(|| {
            received.inc();
            let started = Instant::now();
            black_box(&started);
            commands.inc();
            apply_time.observe(started.elapsed().as_secs_f64());
            sent.inc();
        })
    });
    c.bench_function("render_metrics_page", |b| {
        b.iter(|| black_box(metrics.render()))
    });
}

criterion_group!(benches, per_message);
criterion_main!(benches);
