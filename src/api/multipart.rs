//! Reading multipart uploads: small text parts whole (with a size limit), the
//! `file` part as a stream handed straight to the use case.
//!
//! The shape is exact (spec §6): the named text parts, each once and in order,
//! then one `file` part, then nothing. The file's stream checks that nothing
//! follows *before* it ends, so a second file or a trailing part fails the
//! upload before the use case stores anything.

use actix_multipart::{Field, Multipart, MultipartError};
use bytes::Bytes;
use futures_util::stream::LocalBoxStream;
use futures_util::{StreamExt, TryStreamExt};

use crate::archive::Upload;
use crate::error::{Code, Error};

pub fn multipart_error(e: MultipartError) -> Error {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => Error::new(
            Code::UnsupportedMediaType,
            "expected Content-Type: multipart/form-data",
        ),
        other => Error::new(
            Code::InvalidMultipart,
            format!("malformed multipart body: {other}"),
        ),
    }
}

/// Reads a text part of at most `limit` bytes.
pub async fn read_part(mut field: Field, limit: usize) -> Result<Vec<u8>, Error> {
    let name = field.name().unwrap_or("").to_string();
    let mut buf = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::new(
                Code::PartTooLarge,
                format!("the `{name}` part is larger than {limit} bytes"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

fn duplicate_part(name: &str) -> Error {
    let name = crate::domain::people::truncate(name, 40);
    Error::new(
        Code::DuplicatePart,
        format!(
            "the multipart part `{name}` is one too many: send one metadata (or reason) part and one file per request"
        ),
    )
}

fn unknown_part(name: &str) -> Error {
    let name = crate::domain::people::truncate(name, 40);
    Error::new(
        Code::UnknownPart,
        format!("unexpected multipart part `{name}`"),
    )
}

/// An upload whose body ends only after the request is known to hold nothing
/// more than the file.
pub type ExactUpload = Upload<LocalBoxStream<'static, Result<Bytes, Error>>>;

/// Reads a body of exactly: the text part `text` (at most `limit` bytes), then
/// the `file` part, then nothing. `missing` is the error for a `file` part that
/// comes first, or a body without `text`.
pub async fn text_then_file(
    payload: Multipart,
    text: &'static str,
    limit: usize,
    missing: fn() -> Error,
) -> Result<(Vec<u8>, ExactUpload), Error> {
    let mut payload = payload;
    let first = next_part(&mut payload).await?;
    text_then_file_from(first, payload, text, limit, missing).await
}

/// A filing's body: an optional `source` part (at most 4 KiB, an import's
/// `{path, sha256, size}`), then `metadata` (at most `limit` bytes), then
/// `file`, then nothing.
pub async fn filing_parts(
    payload: Multipart,
    limit: usize,
    missing: fn() -> Error,
) -> Result<(Option<Vec<u8>>, Vec<u8>, ExactUpload), Error> {
    let mut payload = payload;
    let first = next_part(&mut payload).await?;
    let (source, first) = match first {
        Some(field) if field.name() == Some("source") => {
            let source = read_part(field, 4096).await?;
            (Some(source), next_part(&mut payload).await?)
        }
        other => (None, other),
    };
    if first.as_ref().is_some_and(|f| f.name() == Some("source")) {
        return Err(duplicate_part("source"));
    }
    let (metadata, file) = text_then_file_from(first, payload, "metadata", limit, missing).await?;
    Ok((source, metadata, file))
}

async fn text_then_file_from(
    first: Option<Field>,
    mut payload: Multipart,
    text: &'static str,
    limit: usize,
    missing: fn() -> Error,
) -> Result<(Vec<u8>, ExactUpload), Error> {
    let value = match first {
        Some(field) if field.name() == Some(text) => read_part(field, limit).await?,
        Some(field) if field.name() == Some("file") => return Err(missing()),
        Some(field) => return Err(unknown_part(field.name().unwrap_or(""))),
        None => return Err(missing()),
    };
    match next_part(&mut payload).await? {
        Some(field) if field.name() == Some("file") => Ok((value, upload(field, payload))),
        Some(field) if field.name() == Some(text) => Err(duplicate_part(text)),
        Some(field) => Err(unknown_part(field.name().unwrap_or(""))),
        None => Err(Error::new(Code::FileMissing, "a `file` part is required")),
    }
}

/// Turns the `file` part into an upload stream that, after the file's last
/// byte, fails if the body holds another part.
fn upload(field: Field, payload: Multipart) -> ExactUpload {
    let filename = field
        .content_disposition()
        .and_then(|cd| cd.get_filename())
        .unwrap_or("")
        .to_string();
    let content_type = field
        .content_type()
        .map(|m| m.to_string())
        .unwrap_or_default();
    let body = futures_util::stream::unfold(Some((field, payload)), |state| async move {
        let (mut field, mut payload) = state?;
        match field.next().await {
            Some(Ok(bytes)) => Some((Ok(bytes), Some((field, payload)))),
            Some(Err(e)) => Some((Err(multipart_error(e)), None)),
            None => {
                drop(field);
                match payload.try_next().await {
                    Ok(None) => None,
                    Ok(Some(extra)) => {
                        Some((Err(duplicate_part(extra.name().unwrap_or(""))), None))
                    }
                    Err(e) => Some((Err(multipart_error(e)), None)),
                }
            }
        }
    })
    .boxed_local();
    Upload {
        filename,
        content_type,
        body,
    }
}

/// The next part, with malformed bodies turned into clear errors.
pub async fn next_part(payload: &mut Multipart) -> Result<Option<Field>, Error> {
    payload.try_next().await.map_err(multipart_error)
}
