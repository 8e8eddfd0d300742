//! Any text as a working-day calendar file; a calendar that loads answers its questions.
#![no_main]
use libfuzzer_sys::fuzz_target;
use warden_core::calendar::Calendar;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cal) = Calendar::from_toml("fuzz.toml", text) {
        for year in cal.years().collect::<Vec<_>>() {
            if let Ok(d) = time::Date::from_ordinal_date(year, 1) {
                let _ = cal.is_working_day(d);
            }
        }
    }
});
