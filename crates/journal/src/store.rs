//! `Store` (the data directory and its `CURRENT` pointer) and `Generation` (one run's data).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{io_at, JournalError};
use crate::files;
use crate::key::Key;
use crate::{read, snapshot, FrameRef, ReadReport, Recovery, Writer};

/// The data directory. Used by one process at a time (the shell's start-up, then its writer
/// and snapshot threads); nothing here locks it.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens the data directory, creating it (and its parents) if missing.
    pub fn open(dir: &Path) -> Result<Store, JournalError> {
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    /// Opens a directory that must exist, creating nothing (for `verify`).
    pub(crate) fn existing(dir: &Path) -> Result<Store, JournalError> {
        fs::metadata(dir).map_err(io_at(dir))?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    /// The generation `CURRENT` names; `None` in a directory no generation was committed to.
    pub fn current(&self) -> Result<Option<Generation>, JournalError> {
        let path = self.dir.join(files::CURRENT);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_at(&path)(e)),
        };
        let layout = |why: String| JournalError::Layout {
            path: path.clone(),
            why,
        };
        let name = text.trim_end_matches('\n');
        let number = files::parse_generation_name(name).ok_or_else(|| {
            layout("does not name a generation (want e.g. \"gen-000007\")".into())
        })?;
        let generation = self.generation(number);
        if !generation.dir.is_dir() {
            return Err(layout(format!("names {name}, which does not exist")));
        }
        Ok(Some(generation))
    }

    /// Starts a new generation numbered one above any present, holding `config_text`. First
    /// deletes every generation but the current one: those were begun and never committed.
    pub fn begin(&self, config_text: &str) -> Result<Generation, JournalError> {
        let current = self.current()?;
        let existing = self.generation_numbers()?;
        let keep = current.as_ref().map(Generation::number);
        self.remove_generations(existing.iter().copied().filter(|&n| Some(n) != keep))?;
        files::remove_temp_files(&self.dir)?;
        let number = existing.iter().copied().chain(keep).max().unwrap_or(0) + 1;
        let generation = self.generation(number);
        fs::create_dir(&generation.dir).map_err(io_at(&generation.dir))?;
        let config = generation.dir.join(files::CONFIG);
        fs::write(&config, config_text)
            .and_then(|()| fs::File::open(&config)?.sync_data())
            .map_err(io_at(&config))?;
        files::sync_dir(&generation.dir)?;
        files::sync_dir(&self.dir)?;
        Ok(generation)
    }

    /// Makes `generation` the current one (rewrites `CURRENT` atomically and durably), then
    /// deletes every other generation. A crash before the rename leaves the old one current.
    pub fn commit(&self, generation: &Generation) -> Result<(), JournalError> {
        if !generation.dir.is_dir() {
            let why = "cannot commit a generation whose directory is gone".into();
            return Err(JournalError::Layout {
                path: generation.dir.clone(),
                why,
            });
        }
        let line = format!("{}\n", files::generation_name(generation.number));
        files::write_atomically(&self.dir.join(files::CURRENT), line.as_bytes())?;
        let others = self
            .generation_numbers()?
            .into_iter()
            .filter(|&n| n != generation.number);
        self.remove_generations(others)?;
        files::sync_dir(&self.dir)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn generation(&self, number: u64) -> Generation {
        Generation {
            number,
            dir: self.dir.join(files::generation_name(number)),
        }
    }

    /// Numbers of every `gen-*` directory present, sorted.
    pub(crate) fn generation_numbers(&self) -> Result<Vec<u64>, JournalError> {
        let mut numbers: Vec<u64> = files::names_in(&self.dir)?
            .iter()
            .filter_map(|name| files::parse_generation_name(name))
            .filter(|&n| self.generation(n).dir.is_dir())
            .collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    fn remove_generations(&self, numbers: impl Iterator<Item = u64>) -> Result<(), JournalError> {
        for number in numbers {
            let dir = self.generation(number).dir;
            fs::remove_dir_all(&dir).map_err(io_at(&dir))?;
        }
        Ok(())
    }
}

/// One generation: the configuration a run started with and each shard's segments and
/// snapshots. Cheap to clone; holds no open file.
#[derive(Debug, Clone)]
pub struct Generation {
    number: u64,
    dir: PathBuf,
}

impl Generation {
    /// Its number (`gen-000007` is 7).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration text this generation ran with.
    pub fn config_text(&self) -> Result<String, JournalError> {
        let path = self.dir.join(files::CONFIG);
        fs::read_to_string(&path).map_err(io_at(&path))
    }

    /// The shards that have a directory here, sorted.
    pub fn shards(&self) -> Result<Vec<u32>, JournalError> {
        let mut shards: Vec<u32> = files::names_in(&self.dir)?
            .iter()
            .filter_map(|name| files::parse_shard_name(name))
            .collect();
        shards.sort_unstable();
        Ok(shards)
    }

    /// A writer for `shard` whose first frame gets `first_seq` (>= 1). If the shard already has
    /// frames, `first_seq` must follow the last one; its last segment is trimmed to its frames
    /// (a torn tail cut off) and a new segment starts at `first_seq`. Frames are sealed with
    /// `key` if given. Segments roll once they would pass `segment_bytes`.
    pub fn writer(
        &self,
        shard: u32,
        first_seq: u64,
        key: Option<Key>,
        segment_bytes: u64,
    ) -> Result<Writer, JournalError> {
        Writer::open(
            files::shard_dir(&self.dir, shard),
            shard,
            first_seq,
            key,
            segment_bytes,
        )
    }

    /// Writes (temp file, fsync, rename, dir fsync) a snapshot covering frames <= covers_seq, then deletes
    /// older snapshots and every segment whose frames are all <= covers_seq (never the newest segment).
    /// Temp files a crash left behind are deleted first.
    pub fn write_snapshot(
        &self,
        shard: u32,
        covers_seq: u64,
        payload: &[u8],
        key: Option<&Key>,
    ) -> Result<(), JournalError> {
        snapshot::write(
            &files::shard_dir(&self.dir, shard),
            shard,
            covers_seq,
            payload,
            key,
        )
    }

    /// The newest snapshot: (covers_seq, payload). A corrupt or undecryptable newest snapshot is an error
    /// naming the file (a wrong key gives JournalError::WrongKey). Temp files are ignored.
    pub fn latest_snapshot(
        &self,
        shard: u32,
        key: Option<&Key>,
    ) -> Result<Option<(u64, Vec<u8>)>, JournalError> {
        snapshot::latest(&files::shard_dir(&self.dir, shard), shard, key)
    }

    /// Calls `visit` for every frame with seq > after, in order, across segments. A torn tail of the LAST
    /// segment (frame cut short by EOF, zeroed tail, bad CRC on the last frame only) ends the read and is
    /// reported (and the file truncated to the last good frame). Any other damage (bad CRC or a seq gap with
    /// valid frames after it, a bad segment header, a missing segment in the seq chain) is
    /// JournalError::Corrupt { path, offset, why } in Strict mode; in Truncate mode the read stops there and
    /// it is reported as truncated like a torn tail (the damaged segment is cut there and later
    /// segments are deleted, their bytes counted in `discarded_bytes`).
    ///
    /// A zeroed tail after the last frame with nothing else in it is the normal end of a
    /// preallocated segment, not a torn one. Segments whose frames are all <= `after` are not
    /// read. An error from `visit` stops the read and is returned.
    pub fn read_frames(
        &self,
        shard: u32,
        after: u64,
        key: Option<&Key>,
        recovery: Recovery,
        mut visit: impl FnMut(FrameRef<'_>) -> Result<(), JournalError>,
    ) -> Result<ReadReport, JournalError> {
        read::read_frames(
            &files::shard_dir(&self.dir, shard),
            shard,
            after,
            key,
            recovery,
            &mut visit,
        )
    }
}
