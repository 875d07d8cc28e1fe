//! Reading multipart uploads: small text parts whole (with a size limit), the
//! `file` part as a stream handed straight to the use case.

use actix_multipart::{Field, Multipart, MultipartError};
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};

use crate::archive::Upload;
use crate::error::{Error, ErrorKind};

pub fn multipart_error(e: MultipartError) -> Error {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => Error::new(
            ErrorKind::UnsupportedMediaType,
            "unsupported_media_type",
            "expected Content-Type: multipart/form-data",
        ),
        other => Error::bad_request(
            "invalid_multipart",
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
            return Err(Error::too_large(
                "part_too_large",
                format!("the `{name}` part is larger than {limit} bytes"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Turns the `file` part into an upload stream.
pub fn upload(field: Field) -> Upload<impl Stream<Item = Result<Bytes, Error>> + Unpin> {
    let filename = field
        .content_disposition()
        .and_then(|cd| cd.get_filename())
        .unwrap_or("")
        .to_string();
    let content_type = field
        .content_type()
        .map(|m| m.to_string())
        .unwrap_or_default();
    Upload {
        filename,
        content_type,
        body: field.map_err(multipart_error),
    }
}

/// The next part, with malformed bodies turned into clear errors.
pub async fn next_part(payload: &mut Multipart) -> Result<Option<Field>, Error> {
    payload.try_next().await.map_err(multipart_error)
}
