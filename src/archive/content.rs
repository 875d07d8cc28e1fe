//! Writing and reading one version's content: plaintext in, hashed and
//! encrypted chunk by chunk on the way to the store, and back.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use sha2::{Digest, Sha256};

use std::sync::Arc;

use super::{Limits, Upload, UploadStream};
use crate::domain::DocumentId;
use crate::domain::ingest::Findings;
use crate::error::{Code, Error, Result};
use crate::extract;
use crate::extract::inspect::SCAN_TYPES;
use crate::extract::pool::ExtractPool;
use crate::extract::{MAX_EXTRACT_BYTES, TextStatus};
use crate::storage::BlobStore;
use crate::storage::blob::ObjectWriter;
use crate::storage::envelope::Keyring;
use crate::storage::envelope::{DataKey, WrappedKey};
use crate::storage::manifest::Manifest;
use crate::storage::manifest::{Version, content_context, content_path, text_path};
use crate::storage::stream::{ContentDecryptor, ContentEncryptor, DEFAULT_CHUNK};

/// What storing a file produced, before it becomes a manifest version.
pub(super) struct Stored {
    pub sha256: String,
    pub size: u64,
    pub key: WrappedKey,
    pub filename: String,
    pub content_type: String,
    /// The plaintext, kept when it is small enough to hand to a child.
    pub bytes: Option<Vec<u8>>,
    /// The first bytes, for identifying the format of a larger file.
    pub head: Vec<u8>,
}

/// How much of a file's start is kept to identify its format.
const HEAD_BYTES: usize = 4096;

/// What examining a just-stored version found: its text for the index, its
/// text status, and what the ingest checks need.
pub(super) struct Examined {
    pub text: String,
    pub status: TextStatus,
    pub findings: Findings,
}

/// Keeps the last path segment, drops control characters, bounds the length.
fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let name = name.trim().trim_start_matches('.').to_string();
    if name.is_empty() {
        "document".to_string()
    } else {
        name
    }
}

fn clean_content_type(raw: &str) -> String {
    match raw.parse::<mime_guess::mime::Mime>() {
        Ok(m) if raw.len() <= 128 => m.essence_str().to_string(),
        _ => "application/octet-stream".to_string(),
    }
}

/// Content in and out of the store, and the text of it for the index.
pub(super) struct Contents {
    pub blob: BlobStore,
    pub keyring: Arc<Keyring>,
    pub limits: Limits,
    pub extractor: Arc<ExtractPool>,
    /// The OCR children, when the server has an OCR engine.
    pub ocr: Option<Arc<ExtractPool>>,
}

impl Contents {
    /// Encrypts and stores `upload` as version `version` of `id`. Nothing is
    /// visible in the store unless the whole file arrived within the size limit.
    pub(super) async fn store_content<S: UploadStream>(
        &self,
        id: DocumentId,
        version: u32,
        upload: Upload<S>,
    ) -> Result<Stored> {
        let context = content_context(id, version);
        let dek = DataKey::generate();
        let mut writer = self.blob.writer(content_path(id, version));
        let mut body = upload.body;
        let declared = upload.content_type.as_str();
        let content_type = if declared.is_empty() || declared == "application/octet-stream" {
            mime_guess::from_path(&upload.filename)
                .first_or_octet_stream()
                .essence_str()
                .to_string()
        } else {
            clean_content_type(declared)
        };
        let mut text = Some(Vec::new());
        let result = self
            .encrypt_into(&dek, &context, &mut body, &mut writer, &mut text)
            .await;
        match result {
            Ok((sha256, size, head)) => {
                writer.finish().await?;
                let key = self.keyring.wrap(&dek, &context);
                Ok(Stored {
                    sha256,
                    size,
                    key,
                    filename: clean_filename(&upload.filename),
                    content_type,
                    bytes: text,
                    head,
                })
            }
            Err(e) => {
                writer.abort().await;
                Err(e)
            }
        }
    }

    async fn encrypt_into<S: UploadStream>(
        &self,
        dek: &DataKey,
        context: &str,
        body: &mut S,
        writer: &mut ObjectWriter,
        text: &mut Option<Vec<u8>>,
    ) -> Result<(String, u64, Vec<u8>)> {
        let mut head = Vec::with_capacity(HEAD_BYTES);
        let (mut enc, header) = ContentEncryptor::new(dek, context, DEFAULT_CHUNK);
        writer.write(&header).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut out = Vec::with_capacity(DEFAULT_CHUNK * 2);
        while let Some(piece) = body.next().await {
            let piece = piece?;
            size += piece.len() as u64;
            if size > self.limits.max_upload_bytes {
                return Err(Error::new(
                    Code::FileTooLarge,
                    format!(
                        "the file is larger than the limit of {} bytes",
                        self.limits.max_upload_bytes
                    ),
                ));
            }
            hasher.update(&piece);
            if head.len() < HEAD_BYTES {
                let n = (HEAD_BYTES - head.len()).min(piece.len());
                head.extend_from_slice(&piece[..n]);
            }
            if let Some(t) = text.as_mut() {
                if size <= extract::MAX_EXTRACT_BYTES {
                    t.extend_from_slice(&piece);
                } else {
                    *text = None;
                }
            }
            enc.update(&piece, &mut out)
                .map_err(|e| Error::internal(e.to_string()))?;
            if out.len() >= DEFAULT_CHUNK {
                writer.write(&out).await?;
                out.clear();
            }
        }
        if size == 0 {
            return Err(Error::new(
                Code::EmptyFile,
                "the file is empty (0 bytes); nothing was filed",
            ));
        }
        enc.finish(&mut out)
            .map_err(|e| Error::internal(e.to_string()))?;
        writer.write(&out).await?;
        Ok((hex::encode(hasher.finalize()), size, head))
    }

    /// Examines a just-stored version in an extraction child: its text (or
    /// why there is none, or that it waits for OCR) and the findings of the
    /// ingest checks. `bytes` is the whole file when it was small enough to
    /// keep, `head` its first bytes.
    pub(super) async fn examine_upload(
        &self,
        content_type: &str,
        bytes: Option<Vec<u8>>,
        head: &[u8],
        size: u64,
    ) -> Examined {
        let (text, findings) = match bytes {
            Some(bytes) => {
                let answer = self.extractor.examine(content_type, &bytes).await;
                (answer.text, answer.inspection)
            }
            None => {
                let reason = if extract::extractable(content_type) {
                    format!(
                        "larger than {MAX_EXTRACT_BYTES} bytes: only metadata and transcript are indexed"
                    )
                } else {
                    extract::unsupported(content_type)
                };
                let findings = Findings {
                    format: extract::inspect::sniff(head),
                    ..Findings::default()
                };
                (Err(reason), findings)
            }
        };
        match text {
            Ok(t) => Examined {
                text: t,
                status: TextStatus::indexed(),
                findings,
            },
            Err(reason) => {
                let scan = findings.scan
                    || (!findings.examined
                        && findings
                            .format
                            .as_deref()
                            .is_some_and(|f| SCAN_TYPES.contains(&f)));
                let status = match &self.ocr {
                    Some(_) if scan && size <= extract::ocr::MAX_SCAN_BYTES => {
                        TextStatus::pending_ocr()
                    }
                    None if scan => TextStatus::not_indexed(extract::ocr::NOT_INSTALLED.into()),
                    _ => TextStatus::not_indexed(reason),
                };
                Examined {
                    text: String::new(),
                    status,
                    findings,
                }
            }
        }
    }

    /// The text of a document's latest version, read back from the store when it
    /// is of a type with an extractor and small enough.
    pub(super) async fn text_of(&self, m: &Manifest) -> String {
        let v = m.latest();
        if v.ocr.is_some() {
            return self.recognised_text(m.id, v.version).await.unwrap_or_else(|e| {
                tracing::error!(document = %m.id, error = ?e, "cannot read recognised text for the index");
                String::new()
            });
        }
        if !extract::extractable(&v.content_type) || v.size > MAX_EXTRACT_BYTES {
            return String::new();
        }
        match self.read_verified(m.id, v).await {
            Ok(bytes) => self
                .extractor
                .extract(&v.content_type, &bytes)
                .await
                .unwrap_or_default(),
            Err(e) => {
                tracing::error!(document = %m.id, error = ?e, "cannot read content for the index");
                String::new()
            }
        }
    }

    /// The text OCR read of a version, sealed in the store (empty if none).
    pub(super) async fn recognised_text(&self, id: DocumentId, version: u32) -> Result<String> {
        let path = text_path(id, version);
        let Some(bytes) = self.blob.get(&path).await? else {
            return Ok(String::new());
        };
        let plain = self.keyring.open(path.as_ref(), &bytes).map_err(|e| {
            Error::integrity(format!(
                "the recognised text of version {version} of document {id} failed its integrity check"
            ))
            .with_source(e)
        })?;
        String::from_utf8(plain).map_err(|_| Error::integrity("recognised text is not UTF-8"))
    }

    /// Seals and stores the text OCR read of a version (it is content: spec §10).
    pub(super) async fn store_recognised_text(
        &self,
        id: DocumentId,
        version: u32,
        text: &str,
    ) -> Result<()> {
        let path = text_path(id, version);
        let sealed = self.keyring.seal(path.as_ref(), text.as_bytes());
        self.blob.put(&path, sealed).await
    }

    /// Reads, decrypts and checks a whole version.
    pub(super) async fn read_verified(&self, id: DocumentId, v: &Version) -> Result<Bytes> {
        let context = content_context(id, v.version);
        let damaged = || {
            Error::integrity(format!(
                "version {} of document {id} failed its integrity check",
                v.version
            ))
        };
        let dek = self
            .keyring
            .unwrap(&v.key, &context)
            .map_err(|e| damaged().with_source(e))?;
        let bytes = self
            .blob
            .get(&content_path(id, v.version))
            .await?
            .ok_or_else(damaged)?;
        let mut dec = ContentDecryptor::new(dek, &context);
        let mut plain = Vec::with_capacity(v.size as usize);
        dec.update(&bytes, &mut plain)
            .map_err(|e| damaged().with_source(e))?;
        dec.finish(&mut plain)
            .map_err(|e| damaged().with_source(e))?;
        if plain.len() as u64 != v.size || hex::encode(Sha256::digest(&plain)) != v.sha256 {
            return Err(damaged());
        }
        Ok(Bytes::from(plain))
    }

    /// Streams a version, decrypting as it goes; the stream ends in an error at
    /// the first damaged chunk or if the whole does not match its SHA-256.
    pub(super) async fn read_streaming(
        &self,
        id: DocumentId,
        v: &Version,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let context = content_context(id, v.version);
        let version = v.version;
        let damaged = move || {
            Error::integrity(format!(
                "version {version} of document {id} failed its integrity check"
            ))
        };
        let dek = self
            .keyring
            .unwrap(&v.key, &context)
            .map_err(|e| damaged().with_source(e))?;
        let source = self
            .blob
            .get_stream(&content_path(id, v.version))
            .await?
            .ok_or_else(damaged)?;
        struct State {
            source: BoxStream<'static, Result<Bytes>>,
            dec: Option<ContentDecryptor>,
            hasher: Sha256,
            size: u64,
        }
        let expected = (v.sha256.clone(), v.size);
        let state = State {
            source,
            dec: Some(ContentDecryptor::new(dek, &context)),
            hasher: Sha256::new(),
            size: 0,
        };
        let stream = futures_util::stream::unfold(state, move |mut st| {
            let expected = expected.clone();
            async move {
                loop {
                    let dec = st.dec.as_mut()?;
                    let mut out = Vec::new();
                    let step = match st.source.next().await {
                        Some(Ok(piece)) => dec
                            .update(&piece, &mut out)
                            .map_err(|e| damaged().with_source(e)),
                        Some(Err(e)) => Err(e),
                        None => {
                            let dec = st.dec.take().expect("checked above");
                            dec.finish(&mut out)
                                .map_err(|e| damaged().with_source(e))
                                .and_then(|()| {
                                    st.hasher.update(&out);
                                    st.size += out.len() as u64;
                                    let sha =
                                        hex::encode(std::mem::take(&mut st.hasher).finalize());
                                    if sha == expected.0 && st.size == expected.1 {
                                        Ok(())
                                    } else {
                                        Err(damaged())
                                    }
                                })
                        }
                    };
                    if let Err(e) = step {
                        tracing::error!(document = %id, version, error = ?e, "content failed its integrity check while streaming");
                        st.dec = None;
                        return Some((Err(e), st));
                    }
                    if st.dec.is_some() {
                        st.hasher.update(&out);
                        st.size += out.len() as u64;
                    }
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), st));
                    }
                    st.dec.as_ref()?;
                }
            }
        });
        Ok(stream.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\scans\\委托书.pdf"), "委托书.pdf");
        assert_eq!(clean_filename("a\u{0}b\n.txt"), "ab.txt");
        assert_eq!(clean_filename(""), "document");
        assert_eq!(clean_filename(".."), "document");
    }

    #[test]
    fn content_types_are_normalised() {
        assert_eq!(clean_content_type("application/pdf"), "application/pdf");
        assert_eq!(
            clean_content_type("text/plain; charset=utf-8"),
            "text/plain"
        );
        assert_eq!(clean_content_type("not a type"), "application/octet-stream");
    }
}
