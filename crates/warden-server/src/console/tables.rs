//! The tables the console's pages and home queues share: cases, notices, appeals and
//! enforcement records as rows.

use super::frame::{Messages, RowView, day, status_label};
use crate::state::AppState;
use time::OffsetDateTime;
use warden_core::calendar::shanghai_date;
use warden_service::proto::{AppealView, CaseList, EnforcementList, NoticeSummary};

pub(super) fn case_head(m: &Messages) -> Vec<String> {
    ["col_case", "col_category", "col_status", "col_opened"]
        .iter()
        .map(|k| m.t(k).to_owned())
        .collect()
}

pub(super) fn case_rows(m: &Messages, list: CaseList) -> Vec<RowView> {
    list.items
        .into_iter()
        .map(|c| RowView {
            href: Some(format!("/console/cases/{}", c.case.id)),
            cells: vec![
                c.case.title.clone(),
                format!(
                    "{} / {}",
                    m.t(&format!(
                        "category_{}",
                        c.case.classification.category.as_str()
                    )),
                    m.t(&format!(
                        "subtype_{}",
                        c.case.classification.subtype.as_str()
                    ))
                ),
                status_label(m, c.case.status.as_str()),
                day(c.case.opened_at),
            ],
            alert: false,
        })
        .collect()
}

pub(super) fn notice_rows(
    m: &Messages,
    now: OffsetDateTime,
    items: Vec<NoticeSummary>,
) -> Vec<RowView> {
    let mut items = items;
    items.sort_by_key(|n| (!n.overdue, n.deadline));
    items
        .into_iter()
        .map(|n| {
            let open = !matches!(n.status.as_str(), "feedback_filed" | "verified" | "closed");
            RowView {
                href: Some(format!("/console/notices/{}", n.id)),
                cells: vec![
                    n.reference.clone(),
                    n.target
                        .as_ref()
                        .map(|t| format!("{} {}", t.kind().as_str(), t.value()))
                        .unwrap_or_else(|| m.t(&format!("kind_{}", n.kind.as_str())).to_owned()),
                    n.recipient_org.clone(),
                    status_label(m, &n.status),
                    day(n.deadline),
                    if n.overdue {
                        m.t("overdue").to_owned()
                    } else if open {
                        time_left(m, n.deadline - now)
                    } else {
                        "—".to_owned()
                    },
                ],
                alert: n.overdue,
            }
        })
        .collect()
}

/// A countdown: days and hours, or hours and minutes in the last day.
pub(super) fn time_left(m: &Messages, d: time::Duration) -> String {
    if d.is_negative() {
        return m.t("overdue").to_owned();
    }
    let (days, hours, minutes) = (d.whole_days(), d.whole_hours() % 24, d.whole_minutes() % 60);
    if days > 0 {
        format!("{days} {} {hours} {}", m.t("unit_days"), m.t("unit_hours"))
    } else {
        format!(
            "{hours} {} {minutes} {}",
            m.t("unit_hours"),
            m.t("unit_minutes")
        )
    }
}

pub(super) fn notice_head(m: &Messages) -> Vec<String> {
    [
        "col_notice",
        "col_target",
        "col_recipient",
        "col_status",
        "col_deadline",
        "col_time_left",
    ]
    .iter()
    .map(|k| m.t(k).to_owned())
    .collect()
}

/// Working days from today to the reply's due date (negative when late), with the due date.
pub(super) fn reply_countdown(
    s: &AppState,
    m: &Messages,
    due: OffsetDateTime,
    now: OffsetDateTime,
) -> String {
    // Due dates are 24:00 of their last day, which is 00:00 of the next: count to the day itself.
    let last_day = shanghai_date(due - time::Duration::seconds(1));
    let n = s
        .svc
        .calendar()
        .count_working_days(shanghai_date(now), last_day);
    let left = if due < now {
        m.t("overdue").to_owned()
    } else {
        format!("{} {}", n.value, m.t("unit_working_days"))
    };
    format!(
        "{left} ({last_day} 24:00{})",
        if n.provisional {
            format!(" {}", m.t("provisional"))
        } else {
            String::new()
        }
    )
}

pub(super) fn appeal_head(m: &Messages) -> Vec<String> {
    [
        "col_appellant",
        "col_grounds",
        "col_status",
        "col_filed",
        "col_reply_due",
    ]
    .iter()
    .map(|k| m.t(k).to_owned())
    .collect()
}

pub(super) fn appeal_rows(s: &AppState, m: &Messages, list: Vec<AppealView>) -> Vec<RowView> {
    let now = s.svc.now();
    list.into_iter()
        .map(|v| {
            let a = v.appeal;
            let open = !a.status.is_final();
            let grounds: String = a.grounds.chars().take(80).collect();
            RowView {
                href: Some(format!("/console/appeals/{}", a.id)),
                cells: vec![
                    a.appellant.name.clone(),
                    grounds,
                    status_label(m, &format!("appeal_{}", a.status.as_str())),
                    day(a.filed_at),
                    {
                        let due = if open {
                            reply_countdown(s, m, a.reply_due, now)
                        } else {
                            day(a.reply_due)
                        };
                        // Counted through a year without a published calendar.
                        if a.reply_due_provisional {
                            format!("{due} · {}", m.t("provisional"))
                        } else {
                            due
                        }
                    },
                ],
                alert: open && a.reply_due < now,
            }
        })
        .collect()
}

pub(super) fn enforcement_head(m: &Messages) -> Vec<String> {
    ["col_org", "col_reason", "col_raised", "col_actions"]
        .iter()
        .map(|k| m.t(k).to_owned())
        .collect()
}

pub(super) fn enforcement_rows(m: &Messages, list: EnforcementList) -> Vec<RowView> {
    list.items
        .into_iter()
        .map(|v| {
            let e = v.enforcement;
            RowView {
                href: Some(format!("/console/enforcements/{}", e.id)),
                cells: vec![
                    e.org.slug.clone(),
                    m.t(&format!("reason_{}", super::forms::enum_str(&e.reason)))
                        .to_owned(),
                    day(e.raised_at),
                    e.actions.len().to_string(),
                ],
                alert: e.actions.is_empty(),
            }
        })
        .collect()
}
