//! Any text as the lines of a plain, CSV or NDJSON feed, and as MISP attribute values.
#![no_main]
use libfuzzer_sys::fuzz_target;
use warden_interop::feed::{Format, Reader, misp_attribute, misp_type};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = [Format::Plain, Format::Csv, Format::Ndjson][usize::from(first) % 3];
    let mut reader = Reader::new(format);
    for line in text.lines() {
        let _ = reader.line(line);
    }
    if let Some((t, v)) = text.split_once('|') {
        let _ = misp_type(t);
        let _ = misp_attribute(t, v);
    }
});
