//! The journal: where a tenant's inputs and snapshots are kept so a restart loses nothing.

use std::path::PathBuf;

use serde::Deserialize;

use crate::ConfigError;

/// When the journal's frames reach the disk, and so when outputs may leave the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncMode {
    /// `fdatasync` every frame before its outputs leave: a crash of the machine loses nothing
    /// acknowledged.
    Batch,
    /// Write every frame before its outputs leave, `fdatasync` every `interval_ms`: a crash of
    /// the process loses nothing acknowledged, a crash of the machine up to `interval_ms`.
    Interval,
    /// No journal, no snapshots: a restart starts empty (tests, benchmarks).
    Off,
}

/// `[journal]`: restart-only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// Where segments and snapshots live; created if missing; relative to the working directory.
    pub dir: PathBuf,
    /// When frames are synced.
    pub fsync: FsyncMode,
    /// The sync period of `fsync = "interval"`, ms.
    pub interval_ms: u32,
    /// How often each shard snapshots its tenants (and drops the segments the snapshot covers).
    pub snapshot_secs: u32,
    /// A file holding a 256-bit key (64 hex digits or 32 raw bytes): frames and snapshots are then
    /// encrypted with AES-256-GCM. Absent: stored in the clear.
    pub encryption_key_file: Option<PathBuf>,
    /// What startup does with a damaged journal. Not a file setting: `serve --journal-recovery`.
    #[serde(skip)]
    pub recovery: JournalRecovery,
}

/// What startup does with damage found before the journal's tail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JournalRecovery {
    /// Stop, naming the segment and offset (a torn tail is always cut and logged).
    #[default]
    Strict,
    /// Keep what precedes the damage, drop the rest, and start.
    Truncate,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            dir: PathBuf::from("data"),
            fsync: FsyncMode::Batch,
            interval_ms: 10,
            snapshot_secs: 30,
            encryption_key_file: None,
            recovery: JournalRecovery::Strict,
        }
    }
}

impl JournalConfig {
    /// Whether inputs are journalled at all.
    pub fn enabled(&self) -> bool {
        self.fsync != FsyncMode::Off
    }

    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if self.enabled() && self.dir.as_os_str().is_empty() {
            return Err(ConfigError::new(
                format!("{key}.dir"),
                "must name a directory",
            ));
        }
        if !(1..=10_000).contains(&self.interval_ms) {
            return Err(ConfigError::new(
                format!("{key}.interval_ms"),
                "must be 1-10000",
            ));
        }
        if !(1..=86_400).contains(&self.snapshot_secs) {
            return Err(ConfigError::new(
                format!("{key}.snapshot_secs"),
                "must be 1-86400",
            ));
        }
        if self
            .encryption_key_file
            .as_ref()
            .is_some_and(|path| path.as_os_str().is_empty())
        {
            return Err(ConfigError::new(
                format!("{key}.encryption_key_file"),
                "must name a key file, or be left out",
            ));
        }
        Ok(())
    }
}
