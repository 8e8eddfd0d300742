//! The dashboard: its charts are SVG drawn on the server (no script, no inline style: colours
//! are presentation attributes, which the CSP allows), from `Service::dashboard`.

use super::frame::{Lang, Layout, Messages, lang, page, user_view};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::fmt::Write;
use warden_core::taxonomy::Category;

/// One colour per category, in `Category::ALL` order (distinct in print and for the common
/// colour-vision deficiencies).
const CATEGORY_COLOURS: [&str; 5] = ["#b3261e", "#e07b00", "#1f4e99", "#6a3d9a", "#7a7a7a"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Cases opened per day, stacked by category, with a legend.
fn opened_chart(m: &Messages, rows: &[(time::Date, [u64; 5])]) -> String {
    let (w, h, left, bottom, top) = (760.0, 240.0, 36.0, 28.0, 12.0);
    let max = rows
        .iter()
        .map(|(_, c)| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_h = h - bottom - top;
    let slot = (w - left - 8.0) / rows.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg viewBox="0 0 {w} {}" width="100%" role="img" aria-labelledby="opened-title" xmlns="http://www.w3.org/2000/svg"><title id="opened-title">{}</title>"#,
        h + 24.0,
        esc(m.t("chart_opened"))
    );
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="#9aa3af"/><text x="{}" y="{}" font-size="11" text-anchor="end" fill="#5b6575">{max}</text><text x="{}" y="{}" font-size="11" text-anchor="end" fill="#5b6575">0</text>"##,
        h - bottom,
        left - 4.0,
        top + 10.0,
        left - 4.0,
        h - bottom
    );
    for (i, (day, counts)) in rows.iter().enumerate() {
        let x = left + 2.0 + i as f64 * slot;
        let mut y = h - bottom;
        for (c, n) in counts.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let bh = plot_h * *n as f64 / max as f64;
            y -= bh;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{}"><title>{} {}: {n}</title></rect>"#,
                (slot - 2.0).max(1.0),
                CATEGORY_COLOURS[c],
                day,
                esc(m.t(&format!("category_{}", Category::ALL[c].as_str())))
            );
        }
        if i % 5 == 0 || i + 1 == rows.len() {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle" fill="#5b6575">{:02}-{:02}</text>"##,
                x + slot / 2.0,
                h - bottom + 16.0,
                u8::from(day.month()),
                day.day()
            );
        }
    }
    let mut lx = left;
    for (c, cat) in Category::ALL.iter().enumerate() {
        let label = m.t(&format!("category_{}", cat.as_str())).to_owned();
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="11" fill="#1d2430">{}</text>"##,
            h + 8.0,
            CATEGORY_COLOURS[c],
            lx + 14.0,
            h + 17.0,
            esc(&label)
        );
        // Legend text is not measured in SVG: CJK glyphs are about twice as wide as Latin.
        let width: f64 = label
            .chars()
            .map(|c| if c.is_ascii() { 6.5 } else { 11.5 })
            .sum();
        lx += 24.0 + width;
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical bars with a label under each.
fn column_chart(id: &str, title: &str, bars: &[(String, u64)], colour: &str) -> String {
    let (w, h, bottom, top) = (760.0, 200.0, 34.0, 16.0);
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let slot = w / bars.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="{id}-title" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title>"#,
        esc(title)
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let bh = (h - bottom - top) * *n as f64 / max as f64;
        let x = i as f64 * slot + slot * 0.15;
        let y = h - bottom - bh;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{colour}"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#1d2430">{n}</text><text x="{:.1}" y="{}" font-size="11" text-anchor="middle" fill="#5b6575">{}</text>"##,
            slot * 0.7,
            x + slot * 0.35,
            y - 3.0,
            x + slot * 0.35,
            h - bottom + 16.0,
            esc(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, one row per key (most first).
fn row_chart(id: &str, title: &str, bars: &[(String, u64)]) -> String {
    let (w, row, left) = (760.0, 22.0, 180.0);
    let h = row * bars.len().max(1) as f64 + 8.0;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="{id}-title" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title>"#,
        esc(title)
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let bw = (w - left - 40.0) * *n as f64 / max as f64;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{:.1}" font-size="12" text-anchor="end" fill="#1d2430">{}</text><rect x="{left}" y="{y:.1}" width="{bw:.1}" height="{:.1}" fill="#b3261e"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#1d2430">{n}</text>"##,
            left - 8.0,
            y + 14.0,
            esc(label),
            row - 6.0,
            left + bw + 6.0,
            y + 14.0
        );
    }
    svg.push_str("</svg>");
    svg
}

pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub svg: String,
    pub empty: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    summary: String,
    charts: Vec<Chart>,
}

layout_page!(DashboardPage);

/// The days the dashboard covers.
pub const DASHBOARD_DAYS: u16 = 30;

pub(super) async fn dashboard(
    axum::extract::State(s): axum::extract::State<AppState>,
    headers: HeaderMap,
    super::forms::SignedIn(sess): super::forms::SignedIn,
) -> Result<Response, ApiError> {
    let l: Lang = lang(&headers);
    let m = l.m;
    let d = s.svc.dashboard(&sess.actor, DASHBOARD_DAYS).await?;
    let bucket_keys = [
        "bucket_1h",
        "bucket_6h",
        "bucket_1d",
        "bucket_2d",
        "bucket_5d",
        "bucket_10d",
        "bucket_more",
    ];
    let mut handling: Vec<(String, u64)> = bucket_keys
        .iter()
        .zip(d.handling)
        .map(|(k, n)| (m.t(k).to_owned(), n))
        .collect();
    handling.push((m.t("bucket_open").to_owned(), d.awaiting_report));
    let charts = vec![
        Chart {
            id: "opened",
            title: m.t("chart_opened").to_owned(),
            empty: d.cases == 0,
            svg: opened_chart(m, &d.opened),
        },
        Chart {
            id: "handling",
            title: m.t("chart_handling").to_owned(),
            empty: d.notices == 0,
            svg: column_chart("handling", m.t("chart_handling"), &handling, "#1f4e99"),
        },
        Chart {
            id: "overdue-province",
            title: m.t("chart_overdue_province").to_owned(),
            empty: d.overdue_by_province.is_empty(),
            svg: row_chart(
                "overdue-province",
                m.t("chart_overdue_province"),
                &d.overdue_by_province,
            ),
        },
        Chart {
            id: "overdue-org",
            title: m.t("chart_overdue_org").to_owned(),
            empty: d.overdue_by_org.is_empty(),
            svg: row_chart("overdue-org", m.t("chart_overdue_org"), &d.overdue_by_org),
        },
    ];
    Ok(page(
        StatusCode::OK,
        &DashboardPage {
            layout: l.layout(Some(user_view(&sess, m))),
            summary: format!(
                "{} {} · {} {} · {} {} · {} {}",
                DASHBOARD_DAYS,
                m.t("unit_days"),
                d.cases,
                m.t("dash_cases"),
                d.notices,
                m.t("dash_notices"),
                m.t("dash_as_of"),
                // Figures are kept between requests (serve --statistics-max-age).
                d.as_of
                    .to_offset(warden_core::calendar::SHANGHAI)
                    .format(time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]:[second]"
                    ))
                    .unwrap_or_default()
            ),
            charts,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_their_text_and_scale_to_the_largest() {
        let bars = vec![("<b>&".to_owned(), 4), ("x".to_owned(), 2)];
        let svg = row_chart("t", "a \"title\"", &bars);
        assert!(svg.contains("&lt;b&gt;&amp;") && svg.contains("a &quot;title&quot;"));
        assert!(!svg.contains("<b>"));
        // The largest bar takes the full width (760 - 180 - 40), the other half of it.
        assert!(svg.contains(r#"width="540.0""#) && svg.contains(r#"width="270.0""#));
        assert!(!svg.contains("style="), "no inline style under the CSP");
    }
}
