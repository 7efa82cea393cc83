//! Zip archives written with every entry's SHA-256 and size counted on the
//! way in: snapshots (`backup`) and org exports (`exports`) both list them in
//! their manifests.

use std::{fs::File, io::Write, path::Path};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zip::{write::SimpleFileOptions, CompressionMethod, ZipWriter};

use crate::{AppError, AppResult, ErrorKind};

pub(crate) const MANIFEST: &str = "manifest.json";

/// One file of the archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Rows, for a table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// The archive being written.
pub(crate) struct Archive {
    zip: ZipWriter<File>,
}

impl Archive {
    pub(crate) fn create(path: &Path) -> AppResult<Archive> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| {
            AppError::new(
                ErrorKind::Unprocessable,
                format!("cannot create {}: {e}", path.display()),
            )
        })?;
        Ok(Archive {
            zip: ZipWriter::new(file),
        })
    }

    /// Starts the entry at `path`; what is written to the answer is hashed on its way in.
    pub(crate) fn start(&mut self, path: &str) -> AppResult<Hashing<&mut ZipWriter<File>>> {
        let options = entry_options()
            .compression_method(CompressionMethod::Deflated)
            .large_file(true);
        self.zip.start_file(path, options).map_err(AppError::internal)?;
        Ok(Hashing::named(path, &mut self.zip))
    }

    pub(crate) fn finish(mut self, manifest: &impl Serialize) -> AppResult<()> {
        self.zip
            .start_file(MANIFEST, entry_options())
            .map_err(AppError::internal)?;
        serde_json::to_writer_pretty(&mut self.zip, manifest).map_err(AppError::internal)?;
        let file = self.zip.finish().map_err(AppError::internal)?;
        file.sync_all().map_err(AppError::internal)
    }
}

/// Entries dated now (zip's dates are local, to the second; UTC here).
fn entry_options() -> SimpleFileOptions {
    use chrono::{Datelike as _, Timelike as _};
    let now = Utc::now();
    let stamp = zip::DateTime::from_date_and_time(
        u16::try_from(now.year()).unwrap_or(1980),
        now.month() as u8,
        now.day() as u8,
        now.hour() as u8,
        now.minute() as u8,
        now.second() as u8,
    );
    SimpleFileOptions::default().last_modified_time(stamp.unwrap_or_default())
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct Hashing<W> {
    path: String,
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self::named("", inner)
    }

    fn named(path: &str, inner: W) -> Self {
        Hashing {
            path: path.to_owned(),
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub(crate) fn digest(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize()), self.bytes)
    }

    pub(crate) fn finish(self) -> Entry {
        Entry {
            sha256: hex::encode(self.hasher.finalize()),
            path: self.path,
            bytes: self.bytes,
            rows: None,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
