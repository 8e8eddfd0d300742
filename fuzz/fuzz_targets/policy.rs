//! Any text as a national policy file, and as a province's beside the built-in national one.
#![no_main]
use libfuzzer_sys::fuzz_target;
use warden_core::policy::{BUILTIN_FILES, Policy};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Policy::load(&[("national.toml", text)]);
    let _ = Policy::load(&[BUILTIN_FILES[0], ("44.toml", text)]);
});
