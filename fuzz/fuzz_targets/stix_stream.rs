//! Any bytes as a STIX bundle read object by object.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = warden_interop::stream::stix_objects(data, |_| true);
});
