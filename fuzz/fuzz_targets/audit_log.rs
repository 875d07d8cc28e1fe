//! The retrieval log as `dangan audit-verify` reads it: any bytes must give a
//! report (whole, or the first bad record), never a panic.
#![no_main]

use dangan::audit::chain::verify_reader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = verify_reader(data, &[], None);
});
