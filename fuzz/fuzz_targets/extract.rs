//! The extraction child's entry point: a request frame as the server writes it
//! (content type, then the file), decoded and answered with text or a reason.
//! PDF goes to an external program in production; here it is not installed, so
//! the fuzzer spends its time on the frame, HTML, DOCX and text parsers.
#![no_main]

use dangan::extract::Parsers;
use dangan::extract::worker::{answer, read_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsers = Parsers::default();
    let mut input = data;
    while let Ok(Some((content_type, body))) = read_request(&mut input) {
        let _ = answer(&parsers, &content_type, &body);
    }
});
