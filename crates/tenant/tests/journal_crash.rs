//! The journal's crash-point property over real tenant inputs (issue 14).
//!
//! Random operations of connectors, agents and a bot (the harness in `common`) become one
//! tenant's inputs with their times; they are grouped into frames of 1–20 inputs and appended
//! with the real journal writer, synced at random points, optionally encrypted, optionally with
//! a snapshot of the core at a random frame boundary. Then a crash in the style of a simulated
//! page cache: every synced byte survives (a segment the writer rolled away from was synced
//! whole), plus an arbitrary prefix of the unsynced bytes of the last segment followed by
//! nothing, zeros or garbage; a segment whose directory entry no fsync has covered may vanish.
//!
//! Recovery (the newest snapshot, then `read_frames` after it, every input decoded and applied
//! to a fresh core with the same seed and configuration) must give the state hash of a
//! reference core that applied exactly the frames the crash kept, which are a prefix of those
//! appended that includes every synced one (and every one the snapshot covers).
//!
//! Model choices: the 28-byte segment header is one `write(2)` inside one sector, so a crash
//! keeps all of it or none of it (zeros); garbage stands for a torn write of frame bytes. Not
//! modelled, as in the journal's own `crash_points.rs`: the kernel writing a later unsynced
//! page before an earlier one.

mod common;

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use common::{op, run, seed_of, Op};
use proptest::prelude::*;
use switchboard_config::TenantConfig;
use switchboard_journal::{Generation, Key, Recovery, Store};
use switchboard_tenant::{CoreLimits, CoreSnapshot, Input, TenantCore};

const SEGMENT_HEADER: usize = 28;
const FRAME_HEADER: usize = 24;

/// What follows the bytes a crash keeps of the last segment.
#[derive(Debug, Clone, Copy)]
enum Tail {
    /// The file ends there.
    Cut,
    /// The preallocated, never written tail shows through.
    Zeros,
    /// A torn write: bytes that are no frame, then the end of the file.
    Garbage,
    /// A torn write, then the preallocated tail.
    GarbageThenZeros,
}

#[derive(Debug, Clone)]
struct Crash {
    /// Share of the last segment's unsynced bytes that reached the disk, in order.
    kept_fraction: f64,
    tail: Tail,
    garbage: Vec<u8>,
    /// Whether a segment whose directory entry was never synced is lost.
    vanish: bool,
}

fn crash() -> impl Strategy<Value = Crash> {
    let tail = prop_oneof![
        Just(Tail::Cut),
        Just(Tail::Zeros),
        Just(Tail::Garbage),
        Just(Tail::GarbageThenZeros)
    ];
    (
        0.0f64..=1.0,
        tail,
        prop::collection::vec(any::<u8>(), 1..64),
        any::<bool>(),
    )
        .prop_map(|(kept_fraction, tail, garbage, vanish)| Crash {
            kept_fraction,
            tail,
            garbage,
            vanish,
        })
}

/// Everything one case draws.
#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    ops: Vec<Op>,
    /// Inputs per frame, used in turn (cycled).
    frame_sizes: Vec<usize>,
    /// Whether to sync after each frame, used in turn (cycled).
    syncs: Vec<bool>,
    encrypted: bool,
    segment_bytes: u64,
    crash: Crash,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        prop::collection::vec(op(), 1..80),
        prop::collection::vec(1usize..=20, 1..16),
        prop::collection::vec(prop::bool::weighted(0.3), 1..16),
        any::<bool>(),
        prop_oneof![Just(512u64), Just(4096), Just(1 << 16)],
        crash(),
    )
        .prop_map(
            |(seed, ops, frame_sizes, syncs, encrypted, segment_bytes, crash)| Case {
                seed,
                ops,
                frame_sizes,
                syncs,
                encrypted,
                segment_bytes,
                crash,
            },
        )
}

/// A scratch directory under the system's temp dir, removed when dropped (a failing case too).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "switchboard-journal-crash-{}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// One tenant's inputs as the harness applied them, cut into frames, with what rebuilds it.
struct Tenant {
    config: TenantConfig,
    limits: CoreLimits,
    seed: [u8; 32],
    /// Each frame's inputs with the time each was applied at.
    frames: Vec<Vec<(u64, Input)>>,
}

impl Tenant {
    fn of(case: &Case) -> Tenant {
        let harness = run(case.seed, &case.ops);
        let mut inputs = harness
            .journal
            .iter()
            .map(|(now, record)| (*now, Input::decode(record).unwrap()));
        let mut frames = Vec::new();
        for size in case.frame_sizes.iter().cycle() {
            let frame: Vec<_> = inputs.by_ref().take(*size).collect();
            if frame.is_empty() {
                break;
            }
            frames.push(frame);
        }
        let tenant = Tenant {
            config: harness.config.clone(),
            limits: harness.limits,
            seed: seed_of(case.seed),
            frames,
        };
        assert_eq!(
            tenant.reference(None).0.last().copied(),
            Some(harness.core.state_hash()),
            "the frames hold every input the harness applied"
        );
        tenant
    }

    fn fresh_core(&self) -> TenantCore<String> {
        TenantCore::new(&self.config, self.limits, self.seed)
    }

    /// The state hash after each whole number of frames (index k: after the first k), and the
    /// encoded snapshot of the core after `snapshot_at` frames.
    fn reference(&self, snapshot_at: Option<usize>) -> (Vec<u64>, Option<Vec<u8>>) {
        let mut core = self.fresh_core();
        let mut out = Vec::new();
        let mut hashes = vec![core.state_hash()];
        let mut snapshot = (snapshot_at == Some(0)).then(|| core.snapshot().encode());
        for (i, frame) in self.frames.iter().enumerate() {
            for (now, input) in frame {
                core.apply(*now, input.clone(), &mut out);
                out.clear();
            }
            hashes.push(core.state_hash());
            if snapshot_at == Some(i + 1) {
                snapshot = Some(core.snapshot().encode());
            }
        }
        (hashes, snapshot)
    }
}

/// A frame's payload: for each input `now u64 ‖ len u32 ‖ Input::encode` (little-endian).
fn encode_frame(inputs: &[(u64, Input)]) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut record = Vec::new();
    for (now, input) in inputs {
        record.clear();
        input.encode(&mut record);
        payload.extend_from_slice(&now.to_le_bytes());
        payload.extend_from_slice(&(record.len() as u32).to_le_bytes());
        payload.extend_from_slice(&record);
    }
    payload
}

fn decode_frame(mut payload: &[u8]) -> Vec<(u64, Input)> {
    let mut inputs = Vec::new();
    while !payload.is_empty() {
        let now = u64::from_le_bytes(payload[..8].try_into().unwrap());
        let len = u32::from_le_bytes(payload[8..12].try_into().unwrap()) as usize;
        inputs.push((now, Input::decode(&payload[12..12 + len]).unwrap()));
        payload = &payload[12 + len..];
    }
    inputs
}

/// What the writer was asked to do, as the crash model needs it.
struct Written {
    /// Payloads in seq order (seq = index + 1).
    payloads: Vec<Vec<u8>>,
    /// The last seq an explicit `sync()` covered (0: none).
    synced: u64,
    /// Segments whose directory entry an fsync of the shard directory (a sync or a snapshot)
    /// has made durable.
    durable_entries: BTreeSet<PathBuf>,
    /// The seq the snapshot covers, if one was written.
    snapshot: Option<u64>,
}

fn shard_dir(generation: &Generation) -> PathBuf {
    generation.dir().join("shard-0")
}

/// The shard's segments as (first seq, path), in order.
fn segments(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut found: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let seq = path
                .file_name()?
                .to_str()?
                .strip_suffix(".seg")?
                .parse()
                .ok()?;
            Some((seq, path))
        })
        .collect();
    found.sort();
    found
}

/// Appends every frame as the shard's writer thread would, syncing where the case says, and
/// writes the snapshot (covering `snapshot.0` frames) once that many frames are appended.
fn write_journal(
    generation: &Generation,
    case: &Case,
    key: Option<&Key>,
    tenant: &Tenant,
    snapshot: Option<(usize, Vec<u8>)>,
) -> Written {
    let dir = shard_dir(generation);
    let mut writer = generation
        .writer(0, 1, key.cloned(), case.segment_bytes)
        .unwrap();
    let mut written = Written {
        payloads: Vec::new(),
        synced: 0,
        durable_entries: BTreeSet::new(),
        snapshot: None,
    };
    let mut syncs = case.syncs.iter().cycle();
    for appended in 0..=tenant.frames.len() {
        if let Some((_, bytes)) = snapshot.as_ref().filter(|(at, _)| *at == appended) {
            let covers = appended as u64;
            generation.write_snapshot(0, covers, bytes, key).unwrap();
            written.snapshot = Some(covers);
            written
                .durable_entries
                .extend(segments(&dir).into_iter().map(|(_, p)| p));
        }
        let Some(frame) = tenant.frames.get(appended) else {
            break;
        };
        let payload = encode_frame(frame);
        let time_ms = frame.last().map_or(0, |(now, _)| *now);
        let seq = writer.append(time_ms, &payload).unwrap();
        assert_eq!(seq, appended as u64 + 1);
        written.payloads.push(payload);
        if *syncs.next().unwrap() {
            writer.sync().unwrap();
            written.synced = seq;
            written
                .durable_entries
                .extend(segments(&dir).into_iter().map(|(_, p)| p));
        }
    }
    written
}

/// Where each frame of a segment ends, for its first `count` frames.
fn frame_ends(bytes: &[u8], count: u64) -> Vec<usize> {
    let mut at = SEGMENT_HEADER;
    (0..count)
        .map(|_| {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            at += FRAME_HEADER + len;
            at
        })
        .collect()
}

/// Crashes the shard as `crash` says and returns how many frames the disk still holds whole.
fn crash_shard(dir: &Path, written: &Written, crash: &Crash) -> u64 {
    let appended = written.payloads.len() as u64;
    let segments = segments(dir);
    let (first_seq, path) = segments.last().unwrap();
    // Every earlier segment was cut to its frames and synced when the writer rolled.
    let rolled = first_seq - 1;
    if crash.vanish && !written.durable_entries.contains(path) {
        fs::remove_file(path).unwrap();
        return rolled;
    }
    let mut bytes = fs::read(path).unwrap();
    let file_len = bytes.len();
    let ends = frame_ends(&bytes, appended - rolled);
    let used = ends.last().copied().unwrap_or(SEGMENT_HEADER);
    // A sync before the segment existed made none of it durable, its header included.
    let durable = match written.synced.checked_sub(*first_seq) {
        Some(i) => ends[i as usize],
        None => 0,
    };
    let mut kept = durable + ((used - durable) as f64 * crash.kept_fraction) as usize;
    if kept < SEGMENT_HEADER {
        kept = 0;
    }
    bytes.truncate(kept);
    // Garbage models a torn frame write; a header is written whole or not at all.
    let torn = kept >= SEGMENT_HEADER;
    match crash.tail {
        Tail::Cut => {}
        Tail::Zeros => bytes.resize(file_len, 0),
        Tail::Garbage if torn => bytes.extend_from_slice(&crash.garbage),
        Tail::GarbageThenZeros if torn => {
            bytes.extend_from_slice(&crash.garbage);
            bytes.resize(file_len.max(bytes.len()), 0);
        }
        Tail::Garbage => {}
        Tail::GarbageThenZeros => bytes.resize(file_len, 0),
    }
    fs::write(path, &bytes).unwrap();
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(bytes.len() as u64)
        .unwrap();
    rolled + ends.iter().filter(|end| **end <= kept).count() as u64
}

/// What a restart rebuilt.
struct Recovered {
    core: TenantCore<String>,
    /// The seq the snapshot it started from covers (0: none).
    covers: u64,
    /// The frames read after it: (seq, payload).
    frames: Vec<(u64, Vec<u8>)>,
}

/// What a restart rebuilds: the newest snapshot's core (or a fresh one), then every frame the
/// journal returns after it.
fn recover(generation: &Generation, key: Option<&Key>, tenant: &Tenant) -> Recovered {
    let (covers, mut core) = match generation.latest_snapshot(0, key).unwrap() {
        Some((covers, bytes)) => {
            let snapshot = CoreSnapshot::decode(&bytes).unwrap();
            let core = TenantCore::restore(&tenant.config, tenant.limits, snapshot).unwrap();
            (covers, core)
        }
        None => (0, tenant.fresh_core()),
    };
    let mut frames = Vec::new();
    generation
        .read_frames(0, covers, key, Recovery::Strict, |frame| {
            frames.push((frame.seq, frame.payload.to_vec()));
            Ok(())
        })
        .unwrap();
    let mut out = Vec::new();
    for (_, payload) in &frames {
        for (now, input) in decode_frame(payload) {
            core.apply(now, input, &mut out);
            out.clear();
        }
    }
    Recovered {
        core,
        covers,
        frames,
    }
}

/// Writes the case's journal, crashes it, recovers it, and checks the recovered state against
/// the reference; `snapshot_at` picks the frame boundary of a snapshot, if any.
fn check(case: &Case, snapshot_at: Option<prop::sample::Index>) -> Result<(), TestCaseError> {
    let tenant = Tenant::of(case);
    let snapshot_at = snapshot_at.map(|index| index.index(tenant.frames.len() + 1));
    let (hashes, snapshot) = tenant.reference(snapshot_at);
    let scratch = Scratch::new();
    let store = Store::open(&scratch.0).unwrap();
    let generation = store.begin("").unwrap();
    let key = case.encrypted.then(|| Key::from_bytes([0x5c; 32]));
    let snapshot = snapshot_at.zip(snapshot);
    let written = write_journal(&generation, case, key.as_ref(), &tenant, snapshot);
    let kept = crash_shard(&shard_dir(&generation), &written, &case.crash);

    let Recovered {
        core,
        covers,
        frames,
    } = recover(&generation, key.as_ref(), &tenant);
    prop_assert_eq!(covers, written.snapshot.unwrap_or(0));
    let seqs: Vec<u64> = frames.iter().map(|(seq, _)| *seq).collect();
    let recovered = covers + seqs.len() as u64;
    let expected: Vec<u64> = (covers + 1..=recovered).collect();
    prop_assert_eq!(
        seqs,
        expected,
        "frames after the snapshot, in order, none missing"
    );
    prop_assert_eq!(
        recovered,
        kept.max(covers),
        "exactly the frames the crash kept"
    );
    prop_assert!(
        recovered >= written.synced,
        "every synced frame is recovered"
    );
    for (seq, payload) in &frames {
        prop_assert_eq!(payload, &written.payloads[*seq as usize - 1]);
    }
    prop_assert_eq!(core.state_hash(), hashes[recovered as usize]);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_crash_recovers_the_state_after_exactly_the_frames_it_kept(case in case()) {
        check(&case, None)?;
    }

    #[test]
    fn a_snapshot_plus_the_frames_after_it_recover_the_same_state(
        case in case(),
        snapshot_at in any::<prop::sample::Index>(),
    ) {
        check(&case, Some(snapshot_at))?;
    }
}
