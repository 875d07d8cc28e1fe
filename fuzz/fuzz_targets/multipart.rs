//! A multipart/form-data body as the filing endpoint reads it: parts in order,
//! each text part read whole up to a limit.
#![no_main]

use actix_multipart::Multipart;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use bytes::Bytes;
use dangan::api::multipart::{next_part, read_part};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("multipart/form-data; boundary=dangan-boundary"),
    );
    // Deliver the body in two pieces, so the parser also sees a split.
    let cut = data.len() / 2;
    let pieces = vec![
        Ok(Bytes::copy_from_slice(&data[..cut])),
        Ok(Bytes::copy_from_slice(&data[cut..])),
    ];
    let stream = futures::stream::iter(pieces);
    let mut form = Multipart::new(&headers, stream);
    futures::executor::block_on(async {
        let mut parts = 0;
        while let Ok(Some(field)) = next_part(&mut form).await {
            if read_part(field, 64 * 1024).await.is_err() || parts > 16 {
                break;
            }
            parts += 1;
        }
    });
});
