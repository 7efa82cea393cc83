//! Where evidence files' bytes live: a store behind a trait, addressed by the
//! SHA-256 of the content within each org (the same file uploaded twice is
//! stored once; one org's files never answer for another's). The default is a
//! local directory, `<data_dir>/blobs/<org>/<first two hex>/<sha256>`.

use std::path::PathBuf;

use bytes::Bytes;
use sea_orm::prelude::async_trait;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::{AppError, AppResult};

/// The lowercase hex SHA-256 of `bytes`: a blob's address.
pub fn address(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `sha256` (their address); storing it again is a no-op.
    async fn put(&self, org: Uuid, sha256: &str, bytes: Bytes) -> AppResult<()>;
    async fn get(&self, org: Uuid, sha256: &str) -> AppResult<Bytes>;
    /// Removes the blob, if it is there.
    async fn delete(&self, org: Uuid, sha256: &str) -> AppResult<()>;
}

/// Blobs as files under a directory.
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path(&self, org: Uuid, sha256: &str) -> AppResult<PathBuf> {
        // Addresses come from our own hashing; anything else never reaches the disk.
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(AppError::internal(format!("not a blob address: {sha256:?}")));
        }
        Ok(self.root.join(org.to_string()).join(&sha256[..2]).join(sha256))
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, org: Uuid, sha256: &str, bytes: Bytes) -> AppResult<()> {
        let path = self.path(org, sha256)?;
        if tokio::fs::try_exists(&path).await.map_err(AppError::internal)? {
            return Ok(());
        }
        let dir = path
            .parent()
            .ok_or_else(|| AppError::internal("a blob path has a parent"))?;
        tokio::fs::create_dir_all(dir).await.map_err(AppError::internal)?;
        // Written aside, then renamed: a reader never sees half a file.
        let partial = dir.join(format!(".{sha256}.{}", Uuid::now_v7()));
        tokio::fs::write(&partial, &bytes)
            .await
            .map_err(AppError::internal)?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(AppError::internal)
    }

    async fn get(&self, org: Uuid, sha256: &str) -> AppResult<Bytes> {
        match tokio::fs::read(self.path(org, sha256)?).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::new(
                crate::ErrorKind::NotFound,
                "the evidence file is missing from the blob store",
            )),
            Err(e) => Err(AppError::internal(e)),
        }
    }

    async fn delete(&self, org: Uuid, sha256: &str) -> AppResult<()> {
        match tokio::fs::remove_file(self.path(org, sha256)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AppError::internal(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_blob_is_stored_once_per_org_by_its_content_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobs::new(dir.path().to_owned());
        let (acme, globex) = (Uuid::now_v7(), Uuid::now_v7());
        let bytes = Bytes::from_static(b"evidence");
        let sha = address(&bytes);
        assert_eq!(
            sha,
            "ee8250fb76e094b34b471f13a73dbbe51d1ae142e9df59d7c0d31ec20f0a0a8e"
        );
        store.put(acme, &sha, bytes.clone()).await.unwrap();
        store.put(acme, &sha, bytes.clone()).await.unwrap();
        assert_eq!(store.get(acme, &sha).await.unwrap(), bytes);
        let missing = store.get(globex, &sha).await.unwrap_err();
        assert_eq!(missing.kind, crate::ErrorKind::NotFound);
        store.delete(acme, &sha).await.unwrap();
        store.delete(acme, &sha).await.unwrap();
        assert!(store.get(acme, &sha).await.is_err());
        assert!(store.path(acme, "../../etc/passwd").is_err());
    }
}
