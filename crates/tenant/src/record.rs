//! Journal records: a self-contained encoding of each [`Input`], so a core can be rebuilt by
//! applying them again.
//!
//! Format: a one-byte tag per variant, then its fields as LEB128 varints and length-prefixed
//! UTF-8 strings, except client messages, which are kept as their wire JSON and read back by the
//! protocol's own decoder. Why: the envelope is the hot part (every input, most of them a tag
//! and a number or two) and costs no allocation beyond the output buffer; the messages are where
//! the protocol is strict (limits, closed enums, tagged types), and reusing its encoder and
//! decoder means a journalled message is exactly what the gateway accepted, with no second
//! schema to keep in step. `Input`'s `Debug` masks chat texts and customer ids, so a dump of
//! decoded records shows structure, not bodies.
//!
//! Decoding never panics: every read is bounds-checked and every error names the byte offset.

use switchboard_protocol::{
    decode_client, encode_client, ClientMessage, ClientRole, Hello, Resume,
};
use switchboard_router::AgentStatus;

use crate::{Claims, Identity, Input, Role};

/// What was wrong with a journal record or a snapshot's bytes.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The bytes ended in the middle of a field.
    #[error("record truncated at byte {offset}: expected {what}")]
    Truncated {
        /// Where the missing field starts.
        offset: usize,
        /// What was expected there.
        what: &'static str,
    },
    /// A tag byte names no variant.
    #[error("unknown {what} tag {tag} at byte {offset}")]
    UnknownTag {
        /// Where.
        offset: usize,
        /// Which enum.
        what: &'static str,
        /// The byte.
        tag: u8,
    },
    /// A varint longer than a u64 allows.
    #[error("malformed number at byte {offset}")]
    BadNumber {
        /// Where it starts.
        offset: usize,
    },
    /// A string that is not UTF-8.
    #[error("string at byte {offset} is not UTF-8")]
    BadUtf8 {
        /// Where it starts.
        offset: usize,
    },
    /// A client message the protocol's decoder refused (its code, never the content).
    #[error("client message at byte {offset} does not decode: {code}")]
    BadMessage {
        /// Where its JSON starts.
        offset: usize,
        /// The protocol's error code.
        code: &'static str,
    },
    /// Bytes left after a whole record.
    #[error("{extra} unexpected bytes after the record, from byte {offset}")]
    Trailing {
        /// Where they start.
        offset: usize,
        /// How many.
        extra: usize,
    },
    /// Not a snapshot, or one of a version this build cannot read.
    #[error("not a tenant snapshot of format version {expected} (header {found:?})")]
    SnapshotHeader {
        /// The version this build reads.
        expected: u8,
        /// The first bytes found.
        found: Vec<u8>,
    },
    /// A snapshot whose body does not decode.
    #[error("snapshot body (from byte {offset}) does not decode: {reason}")]
    SnapshotBody {
        /// Where the body starts (after the header).
        offset: usize,
        /// The decoder's reason.
        reason: String,
    },
}

// Tags are part of the journal format: never renumber one, only add.
const ATTACH: u8 = 0;
const CLIENT: u8 = 1;
const DETACH: u8 = 2;
const STALLED: u8 = 3;
const ACK_STALLED: u8 = 4;
const DRAIN: u8 = 5;
const FLUSH_ACKS: u8 = 6;
const TIMERS: u8 = 7;
const SWEEP: u8 = 8;
const SET_STATUS: u8 = 9;
const SHUTDOWN: u8 = 10;
const RESTARTED: u8 = 11;

impl Input {
    /// Appends a self-contained encoding of this input (for the journal).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Input::Attach {
                conn,
                identity,
                hello,
            } => {
                out.push(ATTACH);
                put_u64(out, *conn);
                put_identity(out, identity);
                put_hello(out, hello);
            }
            Input::Client {
                conn,
                messages,
                through,
            } => {
                out.push(CLIENT);
                put_u64(out, *conn);
                put_u64(out, *through);
                put_u64(out, messages.len() as u64);
                for message in messages {
                    out.push(match role_of(message) {
                        ClientRole::Connector => 0,
                        ClientRole::Agent => 1,
                    });
                    put_str(out, &encode_client(message));
                }
            }
            Input::Detach { conn } => {
                out.push(DETACH);
                put_u64(out, *conn);
            }
            Input::Stalled { conn, seq } => put_pair(out, STALLED, *conn, *seq),
            Input::AckStalled { conn, seq } => put_pair(out, ACK_STALLED, *conn, *seq),
            Input::Drain { conn, room } => put_pair(out, DRAIN, *conn, *room as u64),
            Input::FlushAcks => out.push(FLUSH_ACKS),
            Input::Timers => out.push(TIMERS),
            Input::Sweep => out.push(SWEEP),
            Input::SetStatus { agent, status } => {
                out.push(SET_STATUS);
                put_str(out, agent);
                out.push(status_tag(*status));
            }
            Input::Shutdown => out.push(SHUTDOWN),
            Input::Restarted => out.push(RESTARTED),
        }
    }

    /// Decodes what [`Input::encode`] wrote. Never panics on bad bytes.
    pub fn decode(bytes: &[u8]) -> Result<Input, RecordError> {
        let mut r = Reader { bytes, pos: 0 };
        let input = r.input()?;
        if r.pos < bytes.len() {
            return Err(RecordError::Trailing {
                offset: r.pos,
                extra: bytes.len() - r.pos,
            });
        }
        Ok(input)
    }
}

/// The endpoint that may send a message, for the decoder's role check: every message a core
/// was given came through one that allowed it, and the types both may send read the same.
fn role_of(message: &ClientMessage) -> ClientRole {
    match message {
        ClientMessage::Hello(_)
        | ClientMessage::Ping(_)
        | ClientMessage::Close(_)
        | ClientMessage::CustomerMessage(_)
        | ClientMessage::CustomerLeft(_) => ClientRole::Connector,
        _ => ClientRole::Agent,
    }
}

fn status_tag(status: AgentStatus) -> u8 {
    match status {
        AgentStatus::Available => 0,
        AgentStatus::Away => 1,
        AgentStatus::Offline => 2,
    }
}

fn put_pair(out: &mut Vec<u8>, tag: u8, a: u64, b: u64) {
    out.push(tag);
    put_u64(out, a);
    put_u64(out, b);
}

fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
        None => out.push(0),
    }
}

fn put_identity(out: &mut Vec<u8>, identity: &Identity) {
    match identity {
        Identity::Connector { name, tenant } => {
            out.push(0);
            put_str(out, name);
            put_str(out, tenant);
        }
        Identity::Agent(claims) => {
            out.push(1);
            put_str(out, &claims.sub);
            put_str(out, &claims.tenant);
            out.push(match claims.role {
                Role::Agent => 0,
                Role::Bot => 1,
            });
            put_u64(out, claims.skills.len() as u64);
            for (skill, level) in &claims.skills {
                put_str(out, skill);
                out.push(*level);
            }
            put_u64(out, u64::from(claims.capacity));
            put_u64(out, claims.exp);
            put_opt_str(out, claims.name.as_deref());
            out.push(u8::from(claims.auto_accept));
        }
    }
}

fn put_hello(out: &mut Vec<u8>, hello: &Hello) {
    put_u64(out, hello.seq);
    put_u64(out, u64::from(hello.protocol));
    put_str(out, &hello.client);
    match &hello.resume {
        Some(resume) => {
            out.push(1);
            put_str(out, &resume.session);
            put_u64(out, resume.last_seq);
        }
        None => out.push(0),
    }
}

/// A bounds-checked cursor over one record.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn input(&mut self) -> Result<Input, RecordError> {
        let at = self.pos;
        Ok(match self.byte("an input tag")? {
            ATTACH => Input::Attach {
                conn: self.u64()?,
                identity: self.identity()?,
                hello: self.hello()?,
            },
            CLIENT => {
                let conn = self.u64()?;
                let through = self.u64()?;
                let messages = self.messages()?;
                Input::Client {
                    conn,
                    messages,
                    through,
                }
            }
            DETACH => Input::Detach { conn: self.u64()? },
            STALLED => Input::Stalled {
                conn: self.u64()?,
                seq: self.u64()?,
            },
            ACK_STALLED => Input::AckStalled {
                conn: self.u64()?,
                seq: self.u64()?,
            },
            DRAIN => Input::Drain {
                conn: self.u64()?,
                room: usize::try_from(self.u64()?).unwrap_or(usize::MAX),
            },
            FLUSH_ACKS => Input::FlushAcks,
            TIMERS => Input::Timers,
            SWEEP => Input::Sweep,
            SET_STATUS => Input::SetStatus {
                agent: self.string()?,
                status: self.status()?,
            },
            SHUTDOWN => Input::Shutdown,
            RESTARTED => Input::Restarted,
            tag => return Err(unknown(at, "input", tag)),
        })
    }

    fn messages(&mut self) -> Result<Vec<ClientMessage>, RecordError> {
        let count = self.u64()?;
        // Each message takes at least two bytes: never trust a count to size an allocation.
        let mut messages = Vec::with_capacity(count.min(self.remaining() as u64 / 2) as usize);
        for _ in 0..count {
            let at = self.pos;
            let role = match self.byte("a message's role")? {
                0 => ClientRole::Connector,
                1 => ClientRole::Agent,
                tag => return Err(unknown(at, "role", tag)),
            };
            let at = self.pos;
            let json = self.str()?;
            let bad = |code: &'static str| RecordError::BadMessage { offset: at, code };
            let decoded = decode_client(json, role).map_err(|e| bad(e.code.as_str()))?;
            let [message] = <[_; 1]>::try_from(decoded).map_err(|_| bad("invalid_frame"))?;
            messages.push(message.map_err(|e| bad(e.code.as_str()))?);
        }
        Ok(messages)
    }

    fn identity(&mut self) -> Result<Identity, RecordError> {
        let at = self.pos;
        match self.byte("an identity tag")? {
            0 => Ok(Identity::Connector {
                name: self.string()?,
                tenant: self.string()?,
            }),
            1 => Ok(Identity::Agent(self.claims()?)),
            tag => Err(unknown(at, "identity", tag)),
        }
    }

    fn claims(&mut self) -> Result<Claims, RecordError> {
        let sub = self.string()?;
        let tenant = self.string()?;
        let at = self.pos;
        let role = match self.byte("a role")? {
            0 => Role::Agent,
            1 => Role::Bot,
            tag => return Err(unknown(at, "role", tag)),
        };
        let mut skills = std::collections::BTreeMap::new();
        for _ in 0..self.u64()? {
            let skill = self.string()?;
            skills.insert(skill, self.byte("a skill level")?);
        }
        let at = self.pos;
        let capacity =
            u32::try_from(self.u64()?).map_err(|_| RecordError::BadNumber { offset: at })?;
        Ok(Claims {
            sub,
            tenant,
            role,
            skills,
            capacity,
            exp: self.u64()?,
            name: self.opt_string()?,
            auto_accept: self.flag()?,
        })
    }

    fn hello(&mut self) -> Result<Hello, RecordError> {
        let seq = self.u64()?;
        let at = self.pos;
        let protocol =
            u32::try_from(self.u64()?).map_err(|_| RecordError::BadNumber { offset: at })?;
        let client = self.string()?;
        let resume = if self.flag()? {
            Some(Resume {
                session: self.string()?,
                last_seq: self.u64()?,
            })
        } else {
            None
        };
        Ok(Hello {
            seq,
            protocol,
            client,
            resume,
        })
    }

    fn status(&mut self) -> Result<AgentStatus, RecordError> {
        let at = self.pos;
        match self.byte("a status")? {
            0 => Ok(AgentStatus::Available),
            1 => Ok(AgentStatus::Away),
            2 => Ok(AgentStatus::Offline),
            tag => Err(unknown(at, "status", tag)),
        }
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, RecordError> {
        let byte = *self.bytes.get(self.pos).ok_or(RecordError::Truncated {
            offset: self.pos,
            what,
        })?;
        self.pos += 1;
        Ok(byte)
    }

    fn flag(&mut self) -> Result<bool, RecordError> {
        let at = self.pos;
        match self.byte("a flag")? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(unknown(at, "flag", tag)),
        }
    }

    fn u64(&mut self) -> Result<u64, RecordError> {
        let start = self.pos;
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte("a number")?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            n |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(RecordError::BadNumber { offset: start })
    }

    fn str(&mut self) -> Result<&str, RecordError> {
        let at = self.pos;
        let len = self.u64()?;
        let start = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|end| *end <= self.bytes.len())
            .ok_or(RecordError::Truncated {
                offset: start,
                what: "a string's bytes",
            })?;
        let s = std::str::from_utf8(&self.bytes[start..end])
            .map_err(|_| RecordError::BadUtf8 { offset: at })?;
        self.pos = end;
        Ok(s)
    }

    fn string(&mut self) -> Result<String, RecordError> {
        self.str().map(str::to_owned)
    }

    fn opt_string(&mut self) -> Result<Option<String>, RecordError> {
        if self.flag()? {
            self.string().map(Some)
        } else {
            Ok(None)
        }
    }
}

fn unknown(offset: usize, what: &'static str, tag: u8) -> RecordError {
    RecordError::UnknownTag { offset, what, tag }
}
