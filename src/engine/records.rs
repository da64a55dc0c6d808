//! What a journal frame and a shard snapshot hold, byte by byte. The journal crate stores
//! opaque payloads; this is the one place that knows what is inside them.
//!
//! A frame's payload is a run of records, each
//! `kind u8 ‖ tenant u16 ‖ now_ms u64 ‖ len u32 ‖ body` (little-endian), where `tenant` is the
//! tenant's index on its shard in that generation (the order of the shard's snapshot) and `body`
//! is [`Input::encode`] for an input, or the tenant's `state_hash` (u64) for a hash record: the
//! state after every earlier record, which replay must reproduce.
//!
//! A shard snapshot is `count u32`, then per tenant in index order `hash u64 ‖ len u32 ‖ core`,
//! `core` being [`CoreSnapshot::encode`].

use switchboard_router::Millis;
use switchboard_tenant::{CoreSnapshot, Frame, Input};

const INPUT: u8 = 0;
const HASH: u8 = 1;
const HEADER: usize = 1 + 2 + 8 + 4;

/// One record of a frame.
#[derive(Debug)]
pub enum Record {
    /// An input applied to a tenant at `now`.
    Input {
        /// The tenant's index on its shard.
        tenant: usize,
        /// When it was applied, Unix ms.
        now: Millis,
        /// The input.
        input: Input,
    },
    /// A tenant's state hash after every earlier record.
    Hash {
        /// The tenant's index on its shard.
        tenant: usize,
        /// Its `state_hash`.
        hash: u64,
    },
}

/// A payload that is not what [`push_input`] and [`push_hash`] wrote.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The bytes end inside a record.
    #[error("a record is cut short at byte {0}")]
    Short(usize),
    /// An unknown record kind.
    #[error("unknown record kind {kind} at byte {at}")]
    Kind {
        /// The kind byte.
        kind: u8,
        /// Where.
        at: usize,
    },
    /// An input that does not decode.
    #[error("an input at byte {at} does not decode: {why}")]
    Input {
        /// Where.
        at: usize,
        /// Why.
        why: String,
    },
    /// A snapshot that does not decode.
    #[error("tenant {index} of the snapshot does not decode: {why}")]
    Snapshot {
        /// The tenant's index.
        index: usize,
        /// Why.
        why: String,
    },
}

/// Appends an input record.
pub fn push_input(buf: &mut Vec<u8>, tenant: usize, now: Millis, input: &Input) {
    let start = push_header(buf, INPUT, tenant, now);
    input.encode(buf);
    patch_len(buf, start);
}

/// Appends a hash record.
pub fn push_hash(buf: &mut Vec<u8>, tenant: usize, now: Millis, hash: u64) {
    let start = push_header(buf, HASH, tenant, now);
    buf.extend_from_slice(&hash.to_le_bytes());
    patch_len(buf, start);
}

fn push_header(buf: &mut Vec<u8>, kind: u8, tenant: usize, now: Millis) -> usize {
    let start = buf.len();
    buf.push(kind);
    // A shard holds far fewer than 65,536 tenants (config validation bounds the tenant list).
    buf.extend_from_slice(&(tenant as u16).to_le_bytes());
    buf.extend_from_slice(&now.to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    start
}

fn patch_len(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start - HEADER) as u32;
    buf[start + HEADER - 4..start + HEADER].copy_from_slice(&len.to_le_bytes());
}

/// The records of a payload, in order.
pub fn decode(payload: &[u8]) -> impl Iterator<Item = Result<Record, RecordsError>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= payload.len() {
            return None;
        }
        let record = decode_one(payload, at);
        at = match &record {
            Ok((_, next)) => *next,
            Err(_) => payload.len(),
        };
        Some(record.map(|(record, _)| record))
    })
}

fn decode_one(payload: &[u8], at: usize) -> Result<(Record, usize), RecordsError> {
    let header = payload
        .get(at..at + HEADER)
        .ok_or(RecordsError::Short(at))?;
    let kind = header[0];
    let tenant = usize::from(u16::from_le_bytes([header[1], header[2]]));
    let now = u64::from_le_bytes(le_array(&header[3..11]));
    let len = u32::from_le_bytes(le_array(&header[11..15])) as usize;
    let body_start = at + HEADER;
    let body = payload
        .get(body_start..body_start + len)
        .ok_or(RecordsError::Short(at))?;
    let record = match kind {
        INPUT => Record::Input {
            tenant,
            now,
            input: Input::decode(body).map_err(|e| RecordsError::Input {
                at,
                why: e.to_string(),
            })?,
        },
        HASH if len == 8 => Record::Hash {
            tenant,
            hash: u64::from_le_bytes(le_array(body)),
        },
        kind => return Err(RecordsError::Kind { kind, at }),
    };
    Ok((record, body_start + len))
}

fn le_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut array = [0; N];
    array.copy_from_slice(&bytes[..N]);
    array
}

/// Encodes a shard's snapshot: each tenant's core with its state hash, in index order.
pub fn encode_snapshot<F: Frame>(cores: &[(CoreSnapshot<F>, u64)]) -> Vec<u8> {
    let mut buf = Vec::new();
    buf.extend_from_slice(&(cores.len() as u32).to_le_bytes());
    for (core, hash) in cores {
        let bytes = core.encode();
        buf.extend_from_slice(&hash.to_le_bytes());
        buf.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        buf.extend_from_slice(&bytes);
    }
    buf
}

/// Decodes what [`encode_snapshot`] wrote.
pub fn decode_snapshot<F: Frame>(
    bytes: &[u8],
) -> Result<Vec<(CoreSnapshot<F>, u64)>, RecordsError> {
    let count = bytes
        .get(..4)
        .map(|b| u32::from_le_bytes(le_array(b)) as usize)
        .ok_or(RecordsError::Short(0))?;
    let mut at = 4;
    let mut cores = Vec::with_capacity(count.min(4096));
    for index in 0..count {
        let head = bytes.get(at..at + 12).ok_or(RecordsError::Short(at))?;
        let hash = u64::from_le_bytes(le_array(&head[..8]));
        let len = u32::from_le_bytes(le_array(&head[8..12])) as usize;
        let body = bytes
            .get(at + 12..at + 12 + len)
            .ok_or(RecordsError::Short(at))?;
        let core = CoreSnapshot::decode(body).map_err(|e| RecordsError::Snapshot {
            index,
            why: e.to_string(),
        })?;
        cores.push((core, hash));
        at += 12 + len;
    }
    Ok(cores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_and_a_cut_or_garbage_is_an_error() {
        let mut buf = Vec::new();
        let mut boundaries = Vec::new();
        push_input(&mut buf, 3, 1_000, &Input::Timers);
        boundaries.push(buf.len());
        push_hash(&mut buf, 1, 2_000, 0xfeed);
        boundaries.push(buf.len());
        push_input(&mut buf, 0, 3_000, &Input::Detach { conn: 9 });
        let records: Vec<Record> = decode(&buf).collect::<Result<_, _>>().unwrap();
        assert!(matches!(
            records[0],
            Record::Input {
                tenant: 3,
                now: 1_000,
                input: Input::Timers
            }
        ));
        assert!(matches!(
            records[1],
            Record::Hash {
                tenant: 1,
                hash: 0xfeed
            }
        ));
        assert!(matches!(
            records[2],
            Record::Input {
                tenant: 0,
                now: 3_000,
                input: Input::Detach { conn: 9 }
            }
        ));
        for cut in 1..buf.len() {
            let decoded: Result<Vec<Record>, _> = decode(&buf[..cut]).collect();
            assert_eq!(
                decoded.is_ok(),
                boundaries.contains(&cut),
                "a payload cut at {cut}"
            );
        }
        assert!(decode(&[7; 20]).any(|r| r.is_err()));
    }
}
