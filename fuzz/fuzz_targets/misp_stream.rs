//! Any bytes as a MISP event read attribute by attribute.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = warden_interop::stream::misp_attributes(data, |_| true);
});
