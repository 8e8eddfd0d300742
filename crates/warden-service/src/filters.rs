//! What a listing or a lookup asks for, typed. The query strings of the API (`proto::…Query`)
//! are parsed into these once, at the edge (`TryFrom`), with an error naming the parameter;
//! the console builds them directly. Organisations stay named by slug: whether one exists
//! is the database's to say.

use crate::error::ServiceError;
use crate::proto::{
    AuditQuery, CasesQuery, EnforcementQuery, ExportQuery, LookupQuery, NoticesQuery,
    OrganisationsQuery, PageQuery, TimelinessQuery,
};
use time::OffsetDateTime;
use warden_core::indicator::{Indicator, IndicatorError, IndicatorType};
use warden_core::lifecycle::{CaseStatus, NoticeStatus};
use warden_core::org::{OrgType, Province};
use warden_core::stats::GroupBy;
use warden_core::taxonomy::Category;

type Result<T> = std::result::Result<T, ServiceError>;

/// Items per page when a list request names no limit, and the most it may ask for.
pub const PAGE_DEFAULT: u32 = 50;
pub const PAGE_MAX: u32 = 500;

/// A page of a list: how many items, and where the previous page stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: PAGE_DEFAULT,
            cursor: None,
        }
    }
}

impl PageRequest {
    /// The first page, of `limit` items.
    pub fn first(limit: u32) -> Self {
        PageRequest {
            limit,
            cursor: None,
        }
    }

    fn parse(limit: Option<u32>, cursor: Option<String>) -> Result<Self> {
        let limit = limit.unwrap_or(PAGE_DEFAULT);
        if !(1..=PAGE_MAX).contains(&limit) {
            return Err(ServiceError::InvalidQuery(format!(
                "limit: from 1 to {PAGE_MAX}"
            )));
        }
        Ok(PageRequest { limit, cursor })
    }
}

impl TryFrom<PageQuery> for PageRequest {
    type Error = ServiceError;
    fn try_from(q: PageQuery) -> Result<Self> {
        PageRequest::parse(q.limit, q.cursor)
    }
}

fn parse_time(field: &str, s: Option<&str>) -> Result<Option<OffsetDateTime>> {
    s.map(|s| {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|_| {
            ServiceError::InvalidQuery(format!(
                "{field}: {s:?} is not an RFC 3339 time like 2026-09-28T10:00:00+08:00"
            ))
        })
    })
    .transpose()
}

fn parse_province(p: Option<&str>) -> Result<Option<Province>> {
    Ok(p.map(str::parse::<Province>).transpose()?)
}

fn parse_category(c: Option<&str>) -> Result<Option<Category>> {
    c.map(|c| {
        c.parse::<Category>().map_err(|_| {
            ServiceError::InvalidQuery(format!(
                "category: {c:?} is not one of {}",
                names(Category::ALL.iter().map(|c| c.as_str()))
            ))
        })
    })
    .transpose()
}

/// A state named in a filter, or the states there are.
fn parse_status<'a, T>(
    s: Option<&str>,
    parse: fn(&str) -> Option<T>,
    all: impl Iterator<Item = &'a str>,
) -> Result<Option<T>> {
    s.map(|s| {
        parse(s).ok_or_else(|| {
            ServiceError::InvalidQuery(format!("status: {s:?} is not one of {}", names(all)))
        })
    })
    .transpose()
}

fn names<'a>(all: impl Iterator<Item = &'a str>) -> String {
    all.collect::<Vec<_>>().join(", ")
}

/// `GET /api/v1/cases`, the console's queues and its case list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CasesFilter {
    pub status: Option<CaseStatus>,
    pub category: Option<Category>,
    pub province: Option<Province>,
    /// Slug of a reporting organisation.
    pub org: Option<String>,
    /// Slug of the institution the case is assigned to.
    pub assigned_to: Option<String>,
    /// Opened at or after.
    pub from: Option<OffsetDateTime>,
    /// Opened before.
    pub to: Option<OffsetDateTime>,
    pub page: PageRequest,
}

impl CasesFilter {
    /// The first `limit` cases in state `status` (or any).
    pub fn in_state(status: Option<CaseStatus>, limit: u32) -> Self {
        CasesFilter {
            status,
            page: PageRequest::first(limit),
            ..Default::default()
        }
    }
}

impl TryFrom<CasesQuery> for CasesFilter {
    type Error = ServiceError;
    fn try_from(q: CasesQuery) -> Result<Self> {
        let status = parse_status(
            q.status.as_deref(),
            CaseStatus::parse,
            CaseStatus::ALL.iter().map(|x| x.as_str()),
        )?;
        let province = parse_province(q.province.as_deref())?;
        let from = parse_time("from", q.from.as_deref())?;
        let to = parse_time("to", q.to.as_deref())?;
        Ok(CasesFilter {
            status,
            category: parse_category(q.category.as_deref())?,
            province,
            org: q.org,
            assigned_to: q.assigned_to,
            from,
            to,
            page: PageRequest::parse(q.limit, q.cursor)?,
        })
    }
}

/// `GET /api/v1/notices` and the console's inbox and verification queue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoticesFilter {
    pub status: Option<NoticeStatus>,
    pub overdue: Option<bool>,
    pub province: Option<Province>,
    /// The category of the case.
    pub category: Option<Category>,
    /// Decided at or after.
    pub from: Option<OffsetDateTime>,
    /// Decided before.
    pub to: Option<OffsetDateTime>,
    /// Slug of the recipient organisation.
    pub recipient: Option<String>,
    pub page: PageRequest,
}

impl NoticesFilter {
    /// The first `limit` notices in state `status` (or any).
    pub fn in_state(status: Option<NoticeStatus>, limit: u32) -> Self {
        NoticesFilter {
            status,
            page: PageRequest::first(limit),
            ..Default::default()
        }
    }
}

impl TryFrom<NoticesQuery> for NoticesFilter {
    type Error = ServiceError;
    fn try_from(q: NoticesQuery) -> Result<Self> {
        let status = parse_status(
            q.status.as_deref(),
            NoticeStatus::parse,
            NoticeStatus::ALL.iter().map(|x| x.as_str()),
        )?;
        let province = parse_province(q.province.as_deref())?;
        let from = parse_time("from", q.from.as_deref())?;
        let to = parse_time("to", q.to.as_deref())?;
        Ok(NoticesFilter {
            status,
            overdue: q.overdue,
            province,
            category: parse_category(q.category.as_deref())?,
            from,
            to,
            recipient: q.recipient,
            page: PageRequest::parse(q.limit, q.cursor)?,
        })
    }
}

/// `GET /api/v1/audit`: entries after a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditFilter {
    pub after: i64,
    pub limit: u32,
}

impl Default for AuditFilter {
    fn default() -> Self {
        AuditFilter {
            after: 0,
            limit: 100,
        }
    }
}

impl TryFrom<AuditQuery> for AuditFilter {
    type Error = ServiceError;
    fn try_from(q: AuditQuery) -> Result<Self> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ServiceError::InvalidQuery("limit: from 1 to 1000".into()));
        }
        Ok(AuditFilter {
            after: q.after.unwrap_or(0).max(0),
            limit,
        })
    }
}

/// `GET /api/v1/enforcements` and `GET /api/v1/compliance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcementFilter {
    /// Slug of the organisation the records are about.
    pub org: Option<String>,
    pub province: Option<Province>,
    pub limit: u32,
}

impl Default for EnforcementFilter {
    fn default() -> Self {
        EnforcementFilter {
            org: None,
            province: None,
            limit: 100,
        }
    }
}

impl TryFrom<EnforcementQuery> for EnforcementFilter {
    type Error = ServiceError;
    fn try_from(q: EnforcementQuery) -> Result<Self> {
        let province = parse_province(q.province.as_deref())?;
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ServiceError::InvalidQuery("limit: from 1 to 1000".into()));
        }
        Ok(EnforcementFilter {
            org: q.org,
            province,
            limit,
        })
    }
}

/// `GET /api/v1/stats/timeliness`: cases opened in a period, grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelinessFilter {
    pub group_by: GroupBy,
    /// Opened at or after.
    pub from: Option<OffsetDateTime>,
    /// Opened before.
    pub to: Option<OffsetDateTime>,
}

impl TryFrom<TimelinessQuery> for TimelinessFilter {
    type Error = ServiceError;
    fn try_from(q: TimelinessQuery) -> Result<Self> {
        Ok(TimelinessFilter {
            group_by: q.group_by,
            from: parse_time("from", q.from.as_deref())?,
            to: parse_time("to", q.to.as_deref())?,
        })
    }
}

/// `GET /api/v1/blocklists/{format}` and `warden export`: whose blocks, from which serial,
/// of which type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Slug of the organisation whose blocks to export (the caller's own by default unless
    /// it oversees).
    pub recipient: Option<String>,
    /// Only the changes after this serial (a delta).
    pub since: Option<i64>,
    /// Only targets of this type.
    pub kind: Option<IndicatorType>,
}

impl TryFrom<ExportQuery> for ExportFilter {
    type Error = ServiceError;
    fn try_from(q: ExportQuery) -> Result<Self> {
        let kind = q
            .kind
            .as_deref()
            .map(|k| {
                k.parse::<IndicatorType>()
                    .map_err(|e| ServiceError::InvalidQuery(format!("type: {e}")))
            })
            .transpose()?;
        Ok(ExportFilter {
            recipient: q.recipient,
            since: q.since,
            kind,
        })
    }
}

/// One value to look up or attribute: as sent, and as the indicator it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub sent: String,
    pub indicator: Indicator,
}

impl Lookup {
    /// `value`, of type `kind` or recognised from its shape.
    pub fn parse(kind: Option<&str>, value: &str) -> Result<Lookup> {
        let indicator = parse_value(kind, value).map_err(|reason| ServiceError::Indicator {
            field: "value".into(),
            source: IndicatorError {
                kind: None,
                input: value.to_owned(),
                reason,
            },
        })?;
        Ok(Lookup {
            sent: value.to_owned(),
            indicator,
        })
    }
}

impl TryFrom<LookupQuery> for Lookup {
    type Error = ServiceError;
    fn try_from(q: LookupQuery) -> Result<Self> {
        Lookup::parse(q.kind.as_deref(), &q.value)
    }
}

/// A value as sent, typed or recognised from its shape.
pub fn parse_value(kind: Option<&str>, value: &str) -> std::result::Result<Indicator, String> {
    match kind {
        Some(k) => {
            let t: IndicatorType = k.parse().map_err(|e| format!("type: {e}"))?;
            Indicator::parse(t, value).map_err(|e| e.to_string())
        }
        None => Indicator::detect(value).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_checked_once_with_the_parameter_named() {
        let bad = |q: CasesQuery| CasesFilter::try_from(q).unwrap_err().to_string();
        assert!(
            bad(CasesQuery {
                status: Some("open".into()),
                ..Default::default()
            })
            .starts_with("status: \"open\" is not one of submitted")
        );
        assert!(
            bad(CasesQuery {
                limit: Some(501),
                ..Default::default()
            })
            .starts_with("limit")
        );
        assert!(
            bad(CasesQuery {
                from: Some("yesterday".into()),
                ..Default::default()
            })
            .starts_with("from: \"yesterday\"")
        );
        assert!(matches!(
            CasesFilter::try_from(CasesQuery {
                province: Some("99".into()),
                ..Default::default()
            }),
            Err(ServiceError::Province(_))
        ));
        let f = CasesFilter::try_from(CasesQuery {
            status: Some("more_info".into()),
            category: Some("incident".into()),
            province: Some("44".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.status, Some(CaseStatus::MoreInfo));
        assert_eq!(f.category, Some(Category::Incident));
        assert_eq!(f.page, PageRequest::default());
        let n = NoticesFilter::try_from(NoticesQuery {
            status: Some("feedback_filed".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(n.status, Some(NoticeStatus::FeedbackFiled));
        assert!(
            NoticesFilter::try_from(NoticesQuery {
                category: Some("spam".into()),
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            ExportFilter::try_from(ExportQuery {
                kind: Some("ipv5".into()),
                ..Default::default()
            })
            .is_err()
        );
        assert_eq!(
            Lookup::parse(None, "Example.CN").unwrap().indicator.value(),
            "example.cn"
        );
        assert!(matches!(
            Lookup::parse(Some("ipv4"), "example.cn"),
            Err(ServiceError::Indicator { .. })
        ));
    }
}

/// Which organisations a listing shows: by type, province and status, in slug order; the
/// cursor is the last slug of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganisationsFilter {
    pub org_type: Option<OrgType>,
    pub province: Option<Province>,
    /// Some(true): only suspended ones; Some(false): only active ones.
    pub suspended: Option<bool>,
    pub page: PageRequest,
}

impl TryFrom<OrganisationsQuery> for OrganisationsFilter {
    type Error = ServiceError;
    fn try_from(q: OrganisationsQuery) -> Result<Self> {
        let org_type = q
            .org_type
            .as_deref()
            .map(|t| {
                t.parse::<OrgType>()
                    .map_err(|e| ServiceError::InvalidQuery(format!("type: {e}")))
            })
            .transpose()?;
        let suspended = match q.status.as_deref() {
            None => None,
            Some("active") => Some(false),
            Some("suspended") => Some(true),
            Some(other) => {
                return Err(ServiceError::InvalidQuery(format!(
                    "status: {other:?} is neither active nor suspended"
                )));
            }
        };
        Ok(OrganisationsFilter {
            org_type,
            province: parse_province(q.province.as_deref())?,
            suspended,
            page: PageRequest::parse(q.limit, q.cursor)?,
        })
    }
}
