//! The results folder as a whole: its lock (one process per folder), creating and checking it,
//! and the records, manifest and noisy labels stored in it. File names and atomic writes come from
//! [`results`](crate::results), the layer below.

use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::experiment::{GroupNoise, PreparedData, RunRecord};
use crate::results::{
    self, ChartFile, FOLDERS, LOCK, MANIFEST, NOISY_LABELS, OUTPUT_FILES, RECORD_SUFFIX, RECORDS,
    is_temporary, temporary_path, write_atomic,
};

/// A results folder that cannot be used: it cannot be created or written, or another process
/// works on it. A usage error (exit code 2), found before anything is written.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// Creating the folder, or a file or folder in it, failed.
    #[error("results folder {}: cannot {action}: {error}", folder.display())]
    Unwritable {
        /// The results folder.
        folder: PathBuf,
        /// What failed, e.g. "create it".
        action: String,
        /// The operating system's error.
        error: io::Error,
    },
    /// Another process holds the folder's lock.
    #[error(
        "results folder {} is in use by another process ({holder}; lock file {}): wait for it to end, or use another folder",
        folder.display(),
        folder.join(LOCK).display()
    )]
    Busy {
        /// The results folder.
        folder: PathBuf,
        /// What the holder wrote into the lock file: its pid, host, start time and command.
        holder: String,
    },
}

/// The lock of a results folder: while it is held, no other sweep, merge or report works on the
/// folder. It is the operating system's advisory lock on the folder's `.lock` file (`flock` on
/// Unix), so it is released when the holding process ends, however it ends (`kill -9` included).
/// The file itself stays; it holds the last holder's pid, host, start time and command, which a
/// process refused the lock names.
#[derive(Debug)]
pub struct FolderLock {
    /// The open lock file; closing it releases the lock.
    _file: fs::File,
    path: PathBuf,
    /// Whether taking the lock created the lock file.
    created_file: bool,
    /// The folders taking the lock created, deepest first.
    created_folders: Vec<PathBuf>,
}

impl FolderLock {
    /// Releases the lock and removes what taking it created (the lock file, and folders that did
    /// not exist before), for a command that stops before writing anything: the folder is left as
    /// it was.
    pub fn abandon(self) {
        // Removed while still locked: a process that opened the old file before its removal
        // finds, once it has the lock, that the path no longer names that file, and starts over.
        if self.created_file {
            let _ = fs::remove_file(&self.path);
        }
        for folder in &self.created_folders {
            // Only empty folders go: anything another process put there stays.
            let _ = fs::remove_dir(folder);
        }
    }
}

/// A results folder.
#[derive(Debug, Clone)]
pub struct ResultsDir {
    root: PathBuf,
}

impl ResultsDir {
    /// The folder at `root`, not yet touched: records can be read from it before
    /// [`ResultsDir::create`] makes it.
    pub fn new(root: &Path) -> ResultsDir {
        ResultsDir {
            root: root.to_path_buf(),
        }
    }

    /// Takes the folder's lock for `command` (e.g. `sweep run`), creating the folder if needed;
    /// fails at once, naming the holder, when another process holds it. Hold the returned lock
    /// until the last write; call [`FolderLock::abandon`] instead when nothing was written.
    pub fn lock(&self, command: &str) -> Result<FolderLock, FolderError> {
        let unwritable = |action: &str, error: io::Error| FolderError::Unwritable {
            folder: self.root.clone(),
            action: action.into(),
            error,
        };
        let path = self.root.join(LOCK);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let created_folders =
                create_folders(&self.root).map_err(|error| unwritable("create it", error))?;
            let (mut file, created_file) =
                open_lock_file(&path).map_err(|error| unwritable("create its lock file", error))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(FolderError::Busy {
                        folder: self.root.clone(),
                        holder: read_holder(&path),
                    });
                }
                Err(fs::TryLockError::Error(error)) => {
                    // Some network file systems have no locks: go on unprotected, and say so.
                    errln!(
                        "note: cannot lock {} ({error}); nothing keeps another sweep from writing {} at the same time",
                        path.display(),
                        self.root.display()
                    );
                }
            }
            // The file may have been removed (and maybe recreated) between opening and locking it
            // by a process that gave up its lock: then this lock protects nothing; start over.
            // (Bounded, for a file system whose file ids are not stable.)
            if !names_file(&path, &file) && attempts < 50 {
                continue;
            }
            let holder = format!("{}\n", holder_description(command));
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(holder.as_bytes()))
                .map_err(|error| unwritable("write its lock file", error))?;
            return Ok(FolderLock {
                _file: file,
                path,
                created_file,
                created_folders,
            });
        }
    }

    /// Creates the folder and its sub-folders if needed, checks that each can be written and
    /// removes temporary files a killed process left in them. With `fresh`, first removes the
    /// records and outputs a previous sweep left there, and nothing else. Call it with the
    /// folder's lock held.
    pub fn create(&self, fresh: bool) -> Result<(), FolderError> {
        let root = &self.root;
        let unwritable = |action: String, error: io::Error| FolderError::Unwritable {
            folder: root.clone(),
            action,
            error,
        };
        if fresh {
            for sub in FOLDERS {
                let path = root.join(sub);
                if path.exists() {
                    fs::remove_dir_all(&path)
                        .map_err(|error| unwritable(format!("remove {sub}/"), error))?;
                }
            }
            let charts = ChartFile::ALL
                .iter()
                .flat_map(|chart| [chart.png(), chart.svg()]);
            for file in OUTPUT_FILES.map(String::from).into_iter().chain(charts) {
                let path = root.join(&file);
                if path.exists() {
                    fs::remove_file(&path)
                        .map_err(|error| unwritable(format!("remove {file}"), error))?;
                }
            }
        }
        for sub in FOLDERS {
            fs::create_dir_all(root.join(sub))
                .map_err(|error| unwritable(format!("create {sub}/"), error))?;
        }
        for (folder, name) in [
            (root.clone(), "it".to_string()),
            (root.join(RECORDS), format!("{RECORDS}/")),
            (root.join(NOISY_LABELS), format!("{NOISY_LABELS}/")),
        ] {
            remove_stale_temporary_files(&folder);
            // A folder that cannot be written is found now, not at the first finished run.
            let probe = temporary_path(&folder.join("probe"));
            fs::File::create(&probe)
                .and_then(|_| fs::remove_file(&probe))
                .map_err(|error| unwritable(format!("write into {name}"), error))?;
        }
        Ok(())
    }

    /// The folder's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn record_path(&self, run_id: &str) -> PathBuf {
        self.root.join(RECORDS).join(results::record_file(run_id))
    }

    /// The stored record of `run_id`, if a complete one exists. A record that cannot be read is
    /// reported through `Err` so the caller can say so and run it again.
    pub fn load_record(&self, run_id: &str) -> Result<Option<RunRecord>> {
        let path = self.record_path(run_id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
        };
        let record: RunRecord = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid run record", path.display()))?;
        anyhow::ensure!(
            record.run.run_id == run_id,
            "{} holds run {}, not {run_id}",
            path.display(),
            record.run.run_id
        );
        Ok(Some(record))
    }

    /// The run ids of every record in the folder (none when it has no `records/`).
    pub fn record_ids(&self) -> Result<Vec<String>> {
        let folder = self.root.join(RECORDS);
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(error).with_context(|| format!("reading {}", folder.display()));
            }
        };
        let mut ids = Vec::new();
        for entry in entries {
            let name = entry
                .with_context(|| format!("reading {}", folder.display()))?
                .file_name();
            let name = name.to_string_lossy();
            // Temporary files start with a dot and are not records.
            if let Some(id) = name
                .strip_suffix(RECORD_SUFFIX)
                .filter(|id| !id.starts_with('.'))
            {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Stores a finished run atomically: the record is complete on disk, or absent.
    pub fn save_record(&self, record: &RunRecord) -> Result<()> {
        let json = serde_json::to_vec_pretty(record)?;
        write_atomic(&self.record_path(&record.run.run_id), &json)
    }

    /// Writes `manifest.json`.
    pub fn write_manifest(&self, manifest: &serde_json::Value) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(manifest)?;
        json.push(b'\n');
        write_atomic(&self.root.join(MANIFEST), &json)
    }

    /// Writes the noisy labels of one (rate, seed) group as CSV (`split,row,clean,noisy,flipped`,
    /// `row` being the sample's index in the full data set), replacing any earlier file.
    pub fn write_noisy_labels(
        &self,
        noise_model: &str,
        noise_rate: f64,
        seed: u64,
        prepared: &PreparedData,
        noise: &GroupNoise,
    ) -> Result<()> {
        let path = self
            .root
            .join(NOISY_LABELS)
            .join(results::noisy_labels_file(noise_model, noise_rate, seed));
        let mut out = Vec::new();
        writeln!(out, "split,row,clean,noisy,flipped")?;
        for (split, rows, clean, noisy) in [
            (
                "train",
                &prepared.split.train,
                &prepared.train.labels,
                &noise.train,
            ),
            (
                "validation",
                &prepared.split.validation,
                &prepared.validation.labels,
                &noise.validation,
            ),
        ] {
            for (i, &row) in rows.iter().enumerate() {
                writeln!(
                    out,
                    "{split},{row},{},{},{}",
                    clean[i],
                    noisy.labels[i],
                    u8::from(noisy.flipped[i])
                )?;
            }
        }
        write_atomic(&path, &out)
    }
}

/// Removes the temporary files in `folder` (those of a process killed between writing and
/// renaming one). Only safe with the folder's lock held and before this process writes there.
fn remove_stale_temporary_files(folder: &Path) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        if is_temporary(&entry.file_name().to_string_lossy()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Creates `folder` and its missing parents; returns those that did not exist, deepest first.
fn create_folders(folder: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut current = Some(folder);
    while let Some(path) = current.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        missing.push(path.to_path_buf());
        current = path.parent();
    }
    fs::create_dir_all(folder)?;
    Ok(missing)
}

/// Opens the lock file, creating it if needed (never truncating it: the holder's description
/// must survive other processes opening it); says whether it was created.
fn open_lock_file(path: &Path) -> io::Result<(fs::File, bool)> {
    match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => Ok((file, true)),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            let file = fs::OpenOptions::new().read(true).write(true).open(path)?;
            Ok((file, false))
        }
        Err(error) => Err(error),
    }
}

/// Whether `path` still names the open `file`.
#[cfg(unix)]
fn names_file(path: &Path, file: &fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn names_file(path: &Path, _file: &fs::File) -> bool {
    path.exists()
}

/// The first line of the lock file at `path`: who holds it. A holder writes it just after taking
/// the lock, so an empty file is read again for a moment before giving up.
fn read_holder(path: &Path) -> String {
    for _ in 0..25 {
        let mut text = String::new();
        if fs::File::open(path)
            .and_then(|mut file| file.read_to_string(&mut text))
            .is_ok()
            && let Some(line) = text.lines().next().filter(|l| !l.trim().is_empty())
        {
            return line.trim().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    "it has not said who it is".into()
}

/// What a lock holder writes into the lock file: pid, host, start time and command.
fn holder_description(command: &str) -> String {
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .map(|h| format!(" on {h}"))
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "pid {}{host}, `{command}` started {}",
        std::process::id(),
        utc_timestamp(now)
    )
}

/// `YYYY-MM-DD hh:mm:ss UTC` of `seconds` since the Unix epoch (proleptic Gregorian calendar).
fn utc_timestamp(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let (hour, minute, second) = (seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60);
    // Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_with_its_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let folder = ResultsDir::new(&dir.path().join("a/b"));
        let first = folder.lock("sweep run").unwrap();
        let holder = fs::read_to_string(dir.path().join("a/b/.lock")).unwrap();
        assert!(
            holder.starts_with(&format!("pid {}", std::process::id()))
                && holder.contains("`sweep run` started 20"),
            "{holder}"
        );
        // A second open file description conflicts even within one process.
        let refused = folder.lock("sweep report").unwrap_err().to_string();
        assert!(
            refused.starts_with(&format!(
                "results folder {} is in use by another process (pid {}",
                dir.path().join("a/b").display(),
                std::process::id()
            )),
            "{refused}"
        );
        drop(first);
        let second = folder.lock("sweep report").unwrap();
        // Abandoning a lock that found the folder and its lock file removes neither.
        second.abandon();
        assert!(dir.path().join("a/b/.lock").exists());
    }

    #[test]
    fn abandoning_a_lock_removes_what_taking_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let folder = ResultsDir::new(&dir.path().join("new/results"));
        folder.lock("sweep run").unwrap().abandon();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_folder_under_a_file_is_unwritable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let error = ResultsDir::new(&file.join("out"))
            .lock("sweep run")
            .unwrap_err();
        assert!(matches!(error, FolderError::Unwritable { .. }), "{error}");
        assert!(
            error.to_string().starts_with(&format!(
                "results folder {}: cannot create it: ",
                file.join("out").display()
            )),
            "{error}"
        );
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
