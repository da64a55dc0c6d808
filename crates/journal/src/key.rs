//! The encryption key and AES-256-GCM sealing of frames and snapshots.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{AeadCore, AeadInPlace, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use crate::error::{io_at, JournalError};

/// Bytes a sealed payload adds: the nonce in front, the tag behind.
pub(crate) const SEAL_OVERHEAD: usize = NONCE_BYTES + TAG_BYTES;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// A 256-bit AES-GCM key for encryption at rest. `Debug` never shows it.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl Key {
    /// A file of 64 hex digits (surrounding whitespace ignored) or exactly 32 raw bytes.
    pub fn from_file(path: &Path) -> Result<Key, JournalError> {
        let bytes = std::fs::read(path).map_err(io_at(path))?;
        let bad = |why: &str| JournalError::BadKey {
            path: path.to_path_buf(),
            why: why.into(),
        };
        let text = std::str::from_utf8(&bytes).ok().map(str::trim);
        if let Some(hex) = text.filter(|t| t.len() == 64) {
            return parse_hex(hex)
                .map(Key)
                .ok_or_else(|| bad("64 characters that are not all hex digits"));
        }
        match <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(raw) => Ok(Key(raw)),
            Err(_) => Err(bad(&format!(
                "{} bytes: want 64 hex digits or 32 raw bytes",
                bytes.len()
            ))),
        }
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key(bytes)
    }

    pub(crate) fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// Appends `nonce ‖ ciphertext ‖ tag` of `plain` to `out`. The nonce is 96 random bits from
/// the OS for every call, so no two frames or snapshots share one (see the crate docs for the
/// bound this puts on one key's use). `Err` only for a payload AES-GCM cannot take (> 64 GiB).
pub(crate) fn seal_into(
    cipher: &Aes256Gcm,
    aad: &[u8],
    plain: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), ()> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plain);
    let tag = cipher
        .encrypt_in_place_detached(&nonce, aad, &mut out[start..])
        .map_err(drop)?;
    out.extend_from_slice(&tag);
    Ok(())
}

/// Opens what [`seal_into`] wrote into `out` (cleared first). `Err` if the tag does not verify:
/// with an intact checksum that means a different key (or `aad` from elsewhere).
pub(crate) fn open_into(
    cipher: &Aes256Gcm,
    aad: &[u8],
    stored: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), ()> {
    out.clear();
    if stored.len() < SEAL_OVERHEAD {
        return Err(());
    }
    let (nonce, rest) = stored.split_at(NONCE_BYTES);
    let (cipher_text, tag) = rest.split_at(rest.len() - TAG_BYTES);
    out.extend_from_slice(cipher_text);
    let (nonce, tag) = (Nonce::from_slice(nonce), Tag::from_slice(tag));
    cipher
        .decrypt_in_place_detached(nonce, aad, out, tag)
        .map_err(drop)
}
