//! Any text as a STIX 2.1 pattern: the indicators it names, or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = warden_interop::pattern::parse(text);
    }
});
