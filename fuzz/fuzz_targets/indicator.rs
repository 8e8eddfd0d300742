//! Any text, as any indicator type: parsed or refused with an error, never a panic; what
//! parses is canonical (parsing its value again gives the same indicator).
#![no_main]
use libfuzzer_sys::fuzz_target;
use warden_core::indicator::{Indicator, IndicatorType, TargetScope};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let kind = IndicatorType::ALL[usize::from(first) % IndicatorType::ALL.len()];
    if let Ok(i) = Indicator::parse(kind, text) {
        let again = Indicator::parse(kind, i.value());
        assert_eq!(again.as_ref().ok(), Some(&i), "{kind:?} {text:?} is not canonical");
    }
    let _ = TargetScope::parse(text);
});
