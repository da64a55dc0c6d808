//! Journal benchmarks: what durability costs on this machine's disk.
//!
//! - `fdatasync/4KiB`: one 4 KiB `pwrite` at offset 0 of a file plus `fdatasync`: the floor under
//!   every durable append (the `fsync = "batch"` cost per frame), the figure the issue asks to
//!   measure first.
//! - `append_batch/N` (N = 1, 64, 1024): one frame of N records of ~120 bytes, `append` then
//!   `sync`, as the shard's writer thread does per batch in `fsync = "batch"`; throughput in
//!   records, so criterion prints records/s. `append_batch_aes/64` is the same with AES-256-GCM.
//! - `recover/1M_records` (`recover/1M_records_aes`): `read_frames` over ~1000 frames of 1000 records
//!   (~120 MB), checksums verified (and payloads opened), as a restart replays a journal;
//!   throughput in records.
//!
//! Files live under `./target/journal-bench` (the working directory's filesystem, never a tmpfs
//! `/tmp`, which would make every sync free). Reproduce with `cargo bench --bench journal`.

use std::fs::{self, File};
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchboard_journal::{Generation, Key, Recovery, Store};

const RECORD_BYTES: usize = 120;
const SEGMENT_BYTES: u64 = 64 << 20;
/// Frames between snapshots that delete the segments the benchmark has filled.
const FRAMES_PER_SNAPSHOT: u64 = 512;

fn bench_dir(name: &str) -> PathBuf {
    let dir = std::env::current_dir()
        .expect("a working directory")
        .join("target/journal-bench")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the bench directory");
    dir
}

fn generation(name: &str) -> Generation {
    let store = Store::open(&bench_dir(name)).expect("open the store");
    let generation = store.begin("").expect("begin a generation");
    store.commit(&generation).expect("commit it");
    generation
}

/// `records` records of ~120 bytes of text, as one frame's payload.
fn batch(records: usize) -> Vec<u8> {
    let record = br#"{"type":"message","conversation":"c-000123","seq":42,"text":"where is my order 48213377?"},"#;
    let mut out = Vec::with_capacity(records * RECORD_BYTES);
    for _ in 0..records {
        out.extend_from_slice(record);
        out.resize(out.len() + RECORD_BYTES - record.len(), b' ');
    }
    out
}

fn fdatasync(c: &mut Criterion) {
    let path = bench_dir("fdatasync").join("probe");
    let file = File::create(&path).expect("create the probe file");
    let block = vec![0x5a_u8; 4096];
    let mut group = c.benchmark_group("fdatasync");
    group.bench_function("4KiB", |b| {
        b.iter(|| {
            file.write_all_at(&block, 0).expect("write");
            file.sync_data().expect("fdatasync");
        })
    });
    group.finish();
}

fn append_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_batch");
    for records in [1usize, 64, 1024] {
        group.throughput(Throughput::Elements(records as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(records),
            &records,
            |b, &records| {
                b.iter_custom(|iters| {
                    append_and_sync(&format!("append-{records}"), None, records, iters)
                })
            },
        );
    }
    group.finish();
    let mut group = c.benchmark_group("append_batch_aes");
    group.throughput(Throughput::Elements(64));
    group.bench_function("64", |b| {
        b.iter_custom(|iters| append_and_sync("append-aes", Some(key()), 64, iters))
    });
    group.finish();
}

/// `iters` frames appended and synced; periodic snapshots (untimed) keep the disk use bounded.
fn append_and_sync(name: &str, key: Option<Key>, records: usize, iters: u64) -> Duration {
    let generation = generation(name);
    let mut writer = generation
        .writer(0, 1, key.clone(), SEGMENT_BYTES)
        .expect("open the writer");
    let payload = batch(records);
    let mut timed = Duration::ZERO;
    for i in 0..iters {
        let start = Instant::now();
        let seq = writer.append(i, black_box(&payload)).expect("append");
        writer.sync().expect("sync");
        timed += start.elapsed();
        if seq % FRAMES_PER_SNAPSHOT == 0 {
            generation
                .write_snapshot(0, seq, b"", key.as_ref())
                .expect("snapshot");
        }
    }
    timed
}

fn recover(c: &mut Criterion) {
    let mut group = c.benchmark_group("recover");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (label, key) in [("1M_records", None), ("1M_records_aes", Some(key()))] {
        let (generation, records) = journal_of_1m_records(&format!("recover-{label}"), key.clone());
        group.throughput(Throughput::Elements(records));
        group.bench_function(label, |b| {
            b.iter(|| {
                let mut bytes = 0usize;
                let report = generation
                    .read_frames(0, 0, key.as_ref(), Recovery::Strict, |frame| {
                        bytes += frame.payload.len();
                        Ok(())
                    })
                    .expect("read");
                black_box((bytes, report.frames))
            })
        });
    }
    group.finish();
}

/// ~1000 frames of 1000 records each, written once (one sync at the end).
fn journal_of_1m_records(name: &str, key: Option<Key>) -> (Generation, u64) {
    let generation = generation(name);
    let mut writer = generation
        .writer(0, 1, key, SEGMENT_BYTES)
        .expect("open the writer");
    let payload = batch(1000);
    for i in 0..1000 {
        writer.append(i, &payload).expect("append");
    }
    writer.sync().expect("sync");
    (generation, 1000 * 1000)
}

fn key() -> Key {
    Key::from_bytes([7; 32])
}

criterion_group!(benches, fdatasync, append_batch, recover);
criterion_main!(benches);
