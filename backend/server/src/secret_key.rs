//! The server key (`ATTEST_SECRET_KEY`), or in development one generated once into
//! the data folder so restarts keep encrypted data readable.

use std::{io::Write as _, path::Path};

use rand::RngCore as _;

use crate::config::{decode_secret_key, Secret, SecretKeySource};

/// Resolves the key, creating the development key file on first start.
pub fn resolve(source: &SecretKeySource) -> anyhow::Result<Secret<Vec<u8>>> {
    match source {
        SecretKeySource::Configured(key) => Ok(key.clone()),
        SecretKeySource::GeneratedFile(path) => read_or_create(path),
    }
}

/// Replaces the development key file with `key` (a restore brings the key of
/// the installation its snapshot came from).
pub fn install(path: &Path, key: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut file = private_file(&partial)?;
    writeln!(file, "{}", hex::encode(key))?;
    file.sync_all()?;
    std::fs::rename(&partial, path)?;
    Ok(())
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn read_or_create(path: &Path) -> anyhow::Result<Secret<Vec<u8>>> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return decode_secret_key(text.trim()).map(Secret::new).ok_or_else(|| {
            anyhow::anyhow!(
                "{} does not hold a valid key; remove it to generate a new one",
                path.display()
            )
        });
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let mut file = private_file(path)?;
    writeln!(file, "{}", hex::encode(&key))?;
    tracing::info!(path = %path.display(), "generated a development secret key");
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let source = SecretKeySource::GeneratedFile(dir.path().join("data/secret.key"));
        let first = resolve(&source).unwrap();
        let second = resolve(&source).unwrap();
        assert_eq!(first.expose().len(), 32);
        assert_eq!(first, second);
    }

    #[test]
    fn an_installed_key_replaces_the_generated_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/secret.key");
        let source = SecretKeySource::GeneratedFile(path.clone());
        let generated = resolve(&source).unwrap();
        install(&path, &[9; 32]).unwrap();
        let installed = resolve(&source).unwrap();
        assert_ne!(generated, installed);
        assert_eq!(installed.expose(), &vec![9; 32]);
    }
}
