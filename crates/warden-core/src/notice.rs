//! Notices (Art. 8): the written form of a measure, delivered "by electronic means whose
//! source can be verified". The body is canonical JSON (RFC 8785) signed with Ed25519 by the
//! deciding authority; anyone with the published public keys can verify it offline.

use crate::calendar::SHANGHAI;
use crate::indicator::Indicator;
use crate::lifecycle::{
    Case, Context, IncidentLevel, Measure, MeasureKind, Report, Severity, Tlp, appeal_last_day,
};
use crate::taxonomy::{Category, Subtype};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::ed25519::signature::Signer as _;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

pub const ALG: &str = "Ed25519";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NoticeType {
    /// Orders the measure.
    Measure,
    /// Withdraws a block (appeal or authority).
    Revocation,
    /// Changes a block's target or expiry (appeal).
    Modification,
    /// Art. 8(3): informs the superior unit of a Party/government or CII victim, and the
    /// cyberspace administration, of a remediation measure.
    Notification,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Party {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppealInfo {
    /// The last day (Asia/Shanghai) an appeal is accepted (Art. 10).
    pub until: String,
    /// The authority that receives it.
    pub to: String,
    /// The count runs through a year whose official calendar is not yet published: the day
    /// is the latest that count could give, so it never closes early.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
}

/// What the recipient of a notice needs to know of the threat to act on it (Art. 8(2)(3)):
/// what it is, the indicators concerned, the malware or the weakness, and the institution's
/// finding. Never who reported it, nor what other recipients were ordered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreatFacts {
    pub category: Category,
    pub subtype: Subtype,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_level: Option<IncidentLevel>,
    /// The institution's determination, in its words.
    pub summary: String,
    /// The observables of the threat the recipient may see (those of TLP:RED reports stay
    /// with the institution, unless one is the target itself).
    pub indicators: Vec<Indicator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malware_family: Option<String>,
    /// File hashes of the malicious program (MD5, SHA-1, SHA-256).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Indicator>,
    /// CVE, CNVD and CNNVD identifiers of the weakness.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<Indicator>,
    /// The system affected, for remediation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victim: Option<String>,
    /// Art. 8(3): for a Party/government or CII victim, the superior unit and the cyberspace
    /// administration notified of the remediation with this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notified: Vec<Party>,
}

/// The most indicators a notice lists: enough for any single order; the case holds the rest.
pub const NOTICE_INDICATORS: usize = 500;

impl ThreatFacts {
    /// The facts of `case` for the notice of `measure`: `reports` are the case's reports.
    pub fn for_measure(measure: &Measure, case: &Case, reports: &[&Report]) -> ThreatFacts {
        use crate::indicator::IndicatorType as T;
        let mut shown: std::collections::BTreeSet<&Indicator> = reports
            .iter()
            .filter(|r| r.content.tlp < Tlp::Red)
            .flat_map(|r| r.content.indicators.iter())
            .filter(|i| case.indicators.contains(*i))
            .collect();
        if let Some(t) = &measure.target {
            shown.insert(t);
        }
        let of = |kinds: &[T]| -> Vec<Indicator> {
            shown
                .iter()
                .filter(|i| kinds.contains(&i.kind()))
                .map(|i| (*i).clone())
                .collect()
        };
        let det = case.determination.as_ref();
        ThreatFacts {
            category: case.classification.category,
            subtype: case.classification.subtype,
            title: case.title.clone(),
            severity: det.and_then(|d| d.severity),
            incident_level: det.and_then(|d| d.incident_level),
            summary: det.map(|d| d.rationale.clone()).unwrap_or_default(),
            indicators: shown
                .iter()
                .take(NOTICE_INDICATORS)
                .map(|i| (*i).clone())
                .collect(),
            malware_family: det.and_then(|d| d.malware_family.clone()),
            hashes: of(&[T::Md5, T::Sha1, T::Sha256]),
            vulnerabilities: of(&[T::Cve, T::Cnvd, T::Cnnvd]),
            victim: (measure.kind == MeasureKind::Remediate)
                .then(|| case.victim.as_ref().map(|v| v.name.clone()))
                .flatten(),
            notified: vec![],
        }
    }
}

/// What a measure of each kind asks of its recipient when the authority adds nothing.
pub fn asked_by_default(kind: MeasureKind) -> &'static str {
    match kind {
        MeasureKind::Block => {
            "停止对目标的服务或予以屏蔽，直至本措施撤销或到期 · Stop serving or block the target until this measure is revoked or expires"
        }
        MeasureKind::RemoveMalware => {
            "清除所列恶意程序，阻断其控制端与传播途径 · Remove the malicious program listed, and cut its control servers and ways of spreading"
        }
        MeasureKind::Remediate => {
            "对所列安全隐患进行整改，消除漏洞或弱点 · Remediate the weakness listed: patch, reconfigure or take the system offline"
        }
        MeasureKind::Other => {
            "采取通知所述的其他必要技术措施 · Take the other technical measures this notice describes"
        }
    }
}

/// How the recipient reports back on a notice.
pub fn report_back(notice_id: Uuid) -> String {
    format!(
        "截止时间前在 Warden 控制台本通知页报告处置结果，或调用 POST /api/v1/notices/{notice_id}/feedback · Before the deadline, report what was done on this notice's page in the Warden console or with POST /api/v1/notices/{notice_id}/feedback"
    )
}

/// What a notice says. Serialised canonically, these bytes are what is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeBody {
    pub notice_id: Uuid,
    #[serde(rename = "type")]
    pub notice_type: NoticeType,
    /// The public reference number of the measure, quoted in appeals.
    pub reference: String,
    pub measure_id: Uuid,
    pub case_id: Uuid,
    pub kind: MeasureKind,
    pub legal_basis: String,
    pub target: Option<Indicator>,
    pub recipient: Party,
    pub issuer: Party,
    pub decided_at: String,
    pub deadline: String,
    pub deadline_provisional: bool,
    pub emergency: bool,
    pub written_notice_due: Option<String>,
    pub block_expires_at: Option<String>,
    pub appeal: Option<AppealInfo>,
    pub policy_version: String,
    pub issued_at: String,
    /// For revocations and modifications: what changes, and why.
    pub reasons: Option<String>,
    /// What the threat is (orders and Art. 8(3) notifications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat: Option<ThreatFacts>,
    /// What the recipient must do: the authority's instructions, or the measure's usual
    /// content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<String>,
    /// How to report back (orders only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_back: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeSignature {
    pub alg: String,
    pub key_id: String,
    /// Base64 (standard alphabet, padded) of the 64-byte signature.
    pub value: String,
}

/// A signed notice as published (`GET /api/v1/notices/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedNotice {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub recipient_org: String,
    pub body: NoticeBody,
    pub signature: NoticeSignature,
}

/// A published verification key (`GET /api/v1/keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicKey {
    pub key_id: String,
    pub org: String,
    pub alg: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub created_at: String,
    /// Retired keys stay published: notices signed with them stay verifiable.
    pub retired_at: Option<String>,
    /// Base64 Ed25519 signature by the platform's root key over
    /// [`PublicKey::endorsement_message`]: the key was made by this platform, for this
    /// organisation, and (when retired) retired at that time. A key written into the
    /// database by anyone else carries none that verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsement: Option<String>,
}

impl PublicKey {
    /// The bytes the root key signs: the key's published fields as canonical JSON (keys
    /// sorted, no spaces), `retired_at` null while the key is in use.
    pub fn endorsement_message(&self) -> Vec<u8> {
        serde_json::json!({
            "alg": self.alg,
            "created_at": self.created_at,
            "key_id": self.key_id,
            "org": self.org,
            "public_key": self.public_key,
            "retired_at": self.retired_at,
        })
        .to_string()
        .into_bytes()
    }
}

/// The platform's root key, which endorses every published key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RootKey {
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// SHA-256 (hex) of the public key's bytes: what `warden init` prints, to be compared
    /// out of band (`warden notice verify --root`).
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeySet {
    pub keys: Vec<PublicKey>,
    /// The root key that endorses `keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<RootKey>,
}

/// Why a key set does not hold against a root fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    #[error(
        "the key set names no root key: it was not published by a platform that endorses its keys"
    )]
    NoRoot,
    #[error(
        "the key set's root key has fingerprint {found}, not {expected}: it is not this platform's"
    )]
    WrongRoot { expected: String, found: String },
    #[error("the root key is malformed")]
    Malformed,
    #[error(
        "key {0} carries no valid endorsement by the root key: it was not made by this platform"
    )]
    NotEndorsed(String),
}

/// Normalises a fingerprint as people copy it: case, spaces and colons do not matter.
pub fn normalise_fingerprint(f: &str) -> String {
    f.chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Checks that `keys` was endorsed by the root key with `fingerprint`, and returns the set
/// of its keys that carry a valid endorsement (the others are dropped).
pub fn endorsed_keys(keys: &KeySet, fingerprint: &str) -> Result<KeySet, KeySetError> {
    let root = keys.root.as_ref().ok_or(KeySetError::NoRoot)?;
    let bytes: [u8; 32] = B64
        .decode(&root.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(KeySetError::Malformed)?;
    let found = self::fingerprint(&bytes);
    let expected = normalise_fingerprint(fingerprint);
    if found != expected {
        return Err(KeySetError::WrongRoot { expected, found });
    }
    let root_key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeySetError::Malformed)?;
    let endorsed = |k: &PublicKey| {
        k.endorsement
            .as_deref()
            .and_then(|e| B64.decode(e).ok())
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .is_some_and(|sig| {
                root_key
                    .verify_strict(&k.endorsement_message(), &Signature::from_bytes(&sig))
                    .is_ok()
            })
    };
    Ok(KeySet {
        keys: keys.keys.iter().filter(|k| endorsed(k)).cloned().collect(),
        root: keys.root.clone(),
    })
}

/// Verifies a notice against a key set held to a root fingerprint: the notice's key must be
/// endorsed by that root, then [`verify`] applies.
pub fn verify_rooted(
    notice: &SignedNotice,
    keys: &KeySet,
    fingerprint: &str,
) -> Result<(), NoticeOrKeyError> {
    let endorsed = endorsed_keys(keys, fingerprint)?;
    let id = &notice.signature.key_id;
    if keys.keys.iter().any(|k| k.key_id == *id) && !endorsed.keys.iter().any(|k| k.key_id == *id) {
        return Err(KeySetError::NotEndorsed(id.clone()).into());
    }
    Ok(verify(notice, &endorsed)?)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeOrKeyError {
    #[error(transparent)]
    Keys(#[from] KeySetError),
    #[error(transparent)]
    Notice(#[from] NoticeError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("no published key {0:?}")]
    UnknownKey(String),
    #[error("unsupported signature algorithm {0:?}: expected Ed25519")]
    Algorithm(String),
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("the signature does not match the notice: it was altered, or not signed by {0}")]
    BadSignature(String),
    #[error("key {key_id} belongs to {key_org}, but the notice names {issuer} as issuer")]
    WrongIssuer {
        key_id: String,
        key_org: String,
        issuer: String,
    },
    #[error(
        "key {key_id} was retired at {retired_at}; a notice issued at {issued_at} cannot carry its signature"
    )]
    RetiredKey {
        key_id: String,
        retired_at: String,
        issued_at: String,
    },
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(SHANGHAI)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The public reference number of a measure: decision date and the random tail of its id.
pub fn reference_number(measure: &Measure) -> String {
    let id = measure.id.simple().to_string().to_ascii_uppercase();
    let d = measure.decided_at.to_offset(SHANGHAI).date();
    format!(
        "WD-{:04}{:02}{:02}-{}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        &id[20..]
    )
}

fn legal_basis(kind: MeasureKind) -> &'static str {
    match kind {
        MeasureKind::Block => "《公共互联网网络安全威胁监测与处置办法》第八条第（一）项",
        MeasureKind::RemoveMalware => "《公共互联网网络安全威胁监测与处置办法》第八条第（二）项",
        MeasureKind::Remediate => "《公共互联网网络安全威胁监测与处置办法》第八条第（三）项",
        MeasureKind::Other => "《公共互联网网络安全威胁监测与处置办法》第八条第（四）项",
    }
}

impl NoticeBody {
    /// The notice that orders `measure`, or that revokes or modifies it.
    /// `names` are the recipient's and the issuer's full names; `ctx.now` is the issue time.
    pub fn for_measure(
        notice_id: Uuid,
        notice_type: NoticeType,
        measure: &Measure,
        names: (&str, &str),
        ctx: Context<'_>,
        reasons: Option<String>,
    ) -> NoticeBody {
        let (recipient_name, issuer_name) = names;
        let (rules, calendar, issued_at) = (ctx.rules, ctx.calendar, ctx.now);
        let appeal = (measure.kind == MeasureKind::Block && notice_type != NoticeType::Revocation)
            .then(|| {
                let last = appeal_last_day(measure.decided_at, rules, calendar);
                AppealInfo {
                    until: last.value.to_string(),
                    to: measure.deciding_org.slug.clone(),
                    provisional: last.provisional,
                }
            });
        let orders = matches!(notice_type, NoticeType::Measure | NoticeType::Notification);
        NoticeBody {
            notice_id,
            notice_type,
            reference: reference_number(measure),
            measure_id: measure.id,
            case_id: measure.case_id,
            kind: measure.kind,
            legal_basis: legal_basis(measure.kind).to_owned(),
            target: measure.target.clone(),
            recipient: Party {
                slug: measure.recipient.slug.clone(),
                name: recipient_name.to_owned(),
            },
            issuer: Party {
                slug: measure.deciding_org.slug.clone(),
                name: issuer_name.to_owned(),
            },
            decided_at: rfc3339(measure.decided_at),
            deadline: rfc3339(measure.deadline),
            deadline_provisional: measure.deadline_provisional,
            emergency: measure.emergency,
            written_notice_due: measure.written_notice_due.map(rfc3339),
            block_expires_at: measure.block.as_ref().map(|b| rfc3339(b.expires_at)),
            appeal,
            policy_version: measure.policy_version.clone(),
            issued_at: rfc3339(issued_at),
            reasons,
            threat: None,
            asked: orders.then(|| {
                measure
                    .instructions
                    .clone()
                    .unwrap_or_else(|| asked_by_default(measure.kind).to_owned())
            }),
            report_back: (notice_type == NoticeType::Measure).then(|| report_back(notice_id)),
        }
    }

    /// The measure in both languages of the notice.
    pub fn kind_label(&self) -> &'static str {
        match self.kind {
            MeasureKind::Block => "停止服务或屏蔽 · stop service or block",
            MeasureKind::RemoveMalware => "清除恶意程序 · remove malware",
            MeasureKind::Remediate => "整改 · remediate",
            MeasureKind::Other => "其他技术措施 · other technical measures",
        }
    }

    /// What the notice says of the threat and of what is asked, as (key, value) rows in the
    /// order a reader needs them; the key names the row (`threat`, `summary`, …) for the
    /// console's labels and the printed form's.
    pub fn threat_rows(&self) -> Vec<(&'static str, String)> {
        let list = |xs: &[Indicator]| {
            xs.iter()
                .map(|i| format!("{} ({})", i.value(), i.kind()))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut rows = vec![];
        if let Some(t) = &self.threat {
            rows.push((
                "threat",
                format!(
                    "{} · {} ({}/{})",
                    t.title,
                    t.subtype.label_zh(),
                    t.category.as_str(),
                    t.subtype.as_str()
                ),
            ));
            let mut grade = vec![];
            if let Some(s) = t.severity {
                grade.push(s.as_str().to_owned());
            }
            if let Some(l) = t.incident_level {
                grade.push(format!("level {l:?}"));
            }
            if !grade.is_empty() {
                rows.push(("severity", grade.join(" · ")));
            }
            if !t.summary.is_empty() {
                rows.push(("summary", t.summary.clone()));
            }
            if let Some(f) = &t.malware_family {
                rows.push(("malware_family", f.clone()));
            }
            if !t.hashes.is_empty() {
                rows.push(("hashes", list(&t.hashes)));
            }
            if !t.vulnerabilities.is_empty() {
                rows.push(("vulnerabilities", list(&t.vulnerabilities)));
            }
            if let Some(v) = &t.victim {
                rows.push(("victim", v.clone()));
            }
            if !t.notified.is_empty() {
                rows.push((
                    "notified",
                    t.notified
                        .iter()
                        .map(|p| format!("{} ({})", p.name, p.slug))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ));
            }
            if !t.indicators.is_empty() {
                rows.push(("indicators", list(&t.indicators)));
            }
        }
        if let Some(a) = &self.asked {
            rows.push(("asked", a.clone()));
        }
        if let Some(r) = &self.report_back {
            rows.push(("report_back", r.clone()));
        }
        rows
    }

    /// RFC 8785 canonical JSON: the exact bytes that are signed.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(self).unwrap_or_default()
    }
}

/// The key id of a public key: the organisation and a fingerprint of the key.
pub fn key_id(org_slug: &str, public: &VerifyingKey) -> String {
    format!("{org_slug}:{}", &fingerprint(&public.to_bytes())[..16])
}

/// SHA-256 hex of bytes: shown on printed notices so people can compare by eye.
pub fn fingerprint(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn sign(body: &NoticeBody, key_id: &str, key: &SigningKey) -> NoticeSignature {
    let sig: Signature = key.sign(&body.canonical());
    NoticeSignature {
        alg: ALG.to_owned(),
        key_id: key_id.to_owned(),
        value: B64.encode(sig.to_bytes()),
    }
}

pub fn public_key_b64(key: &VerifyingKey) -> String {
    B64.encode(key.to_bytes())
}

/// Verifies a notice against a published key set: the key must exist, belong to the issuer,
/// and the signature must cover the body exactly.
pub fn verify(notice: &SignedNotice, keys: &KeySet) -> Result<(), NoticeError> {
    let sig = &notice.signature;
    if sig.alg != ALG {
        return Err(NoticeError::Algorithm(sig.alg.clone()));
    }
    let key = keys
        .keys
        .iter()
        .find(|k| k.key_id == sig.key_id)
        .ok_or_else(|| NoticeError::UnknownKey(sig.key_id.clone()))?;
    if key.org != notice.body.issuer.slug {
        return Err(NoticeError::WrongIssuer {
            key_id: key.key_id.clone(),
            key_org: key.org.clone(),
            issuer: notice.body.issuer.slug.clone(),
        });
    }
    // A retired key stays published so that what it signed before stays valid; a notice
    // dated after its retirement is a forgery with a leaked key.
    if let Some(retired) = &key.retired_at {
        let parse =
            |t: &str| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok();
        let late = match (parse(&notice.body.issued_at), parse(retired)) {
            (Some(issued), Some(r)) => issued > r,
            _ => true,
        };
        if late {
            return Err(NoticeError::RetiredKey {
                key_id: key.key_id.clone(),
                retired_at: retired.clone(),
                issued_at: notice.body.issued_at.clone(),
            });
        }
    }
    let pk: [u8; 32] = B64
        .decode(&key.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(NoticeError::Malformed("public key"))?;
    let pk = VerifyingKey::from_bytes(&pk).map_err(|_| NoticeError::Malformed("public key"))?;
    let sb: [u8; 64] = B64
        .decode(&sig.value)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(NoticeError::Malformed("signature"))?;
    pk.verify_strict(&notice.body.canonical(), &Signature::from_bytes(&sb))
        .map_err(|_| NoticeError::BadSignature(key.org.clone()))?;
    if notice.id != notice.body.notice_id || notice.measure_id != notice.body.measure_id {
        return Err(NoticeError::BadSignature(key.org.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> NoticeBody {
        NoticeBody {
            notice_id: Uuid::from_u128(1),
            notice_type: NoticeType::Measure,
            reference: "WD-20260928-0123456789AB".into(),
            measure_id: Uuid::from_u128(2),
            case_id: Uuid::from_u128(3),
            kind: MeasureKind::Block,
            legal_basis: legal_basis(MeasureKind::Block).into(),
            target: Some(
                Indicator::parse(crate::indicator::IndicatorType::Domain, "evil.example.cn")
                    .unwrap(),
            ),
            recipient: Party {
                slug: "china-telecom".into(),
                name: "中国电信".into(),
            },
            issuer: Party {
                slug: "ca-guangdong".into(),
                name: "广东省通信管理局".into(),
            },
            decided_at: "2026-09-28T10:00:00+08:00".into(),
            deadline: "2026-09-28T16:00:00+08:00".into(),
            deadline_provisional: false,
            emergency: false,
            written_notice_due: None,
            block_expires_at: Some("2027-09-28T10:00:00+08:00".into()),
            appeal: Some(AppealInfo {
                until: "2026-10-16".into(),
                to: "ca-guangdong".into(),
                provisional: false,
            }),
            policy_version: "national-2026.1+44-2026.1".into(),
            issued_at: "2026-09-28T10:00:00+08:00".into(),
            reasons: None,
            threat: None,
            asked: None,
            report_back: None,
        }
    }

    fn signed(key: &SigningKey, org: &str) -> (SignedNotice, KeySet) {
        let b = body();
        let kid = key_id(org, &key.verifying_key());
        let n = SignedNotice {
            id: b.notice_id,
            measure_id: b.measure_id,
            recipient_org: "china-telecom".into(),
            signature: sign(&b, &kid, key),
            body: b,
        };
        let ks = KeySet {
            keys: vec![PublicKey {
                key_id: kid,
                org: org.into(),
                alg: ALG.into(),
                public_key: public_key_b64(&key.verifying_key()),
                created_at: "2026-01-01T00:00:00+08:00".into(),
                retired_at: None,
                endorsement: None,
            }],
            root: None,
        };
        (n, ks)
    }

    fn endorse(root: &SigningKey, ks: &mut KeySet) {
        use ed25519_dalek::Signer as _;
        for k in &mut ks.keys {
            k.endorsement = Some(B64.encode(root.sign(&k.endorsement_message()).to_bytes()));
        }
        ks.root = Some(RootKey {
            public_key: public_key_b64(&root.verifying_key()),
            fingerprint: fingerprint(&root.verifying_key().to_bytes()),
        });
    }

    #[test]
    fn a_rooted_key_set_holds_only_with_its_root_and_endorsed_keys() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let root = SigningKey::from_bytes(&[1u8; 32]);
        let fp = fingerprint(&root.verifying_key().to_bytes());
        let (n, mut ks) = signed(&key, "ca-guangdong");
        assert_eq!(
            verify_rooted(&n, &ks, &fp),
            Err(KeySetError::NoRoot.into()),
            "an unrooted set proves nothing"
        );
        endorse(&root, &mut ks);
        assert_eq!(verify_rooted(&n, &ks, &fp), Ok(()));
        // Copied with colons and capitals, the fingerprint is the same.
        let spaced: String = fp
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(verify_rooted(&n, &ks, &spaced), Ok(()));
        // Another platform's root, or a root swapped into the set, is refused.
        let other = fingerprint(
            &SigningKey::from_bytes(&[2u8; 32])
                .verifying_key()
                .to_bytes(),
        );
        assert!(matches!(
            verify_rooted(&n, &ks, &other),
            Err(NoticeOrKeyError::Keys(KeySetError::WrongRoot { .. }))
        ));
        // A key put in by someone without the root (or one whose retirement was removed)
        // carries no endorsement that verifies.
        let mut forged = ks.clone();
        forged.keys[0].created_at = "2025-01-01T00:00:00+08:00".into();
        assert!(matches!(
            verify_rooted(&n, &forged, &fp),
            Err(NoticeOrKeyError::Keys(KeySetError::NotEndorsed(_)))
        ));
        let mut retired = ks.clone();
        retired.keys[0].retired_at = Some("2026-09-01T00:00:00+08:00".into());
        endorse(&root, &mut retired);
        let mut unretired = retired.clone();
        unretired.keys[0].retired_at = None;
        assert!(matches!(
            verify_rooted(&n, &unretired, &fp),
            Err(NoticeOrKeyError::Keys(KeySetError::NotEndorsed(_)))
        ));
    }

    #[test]
    fn signatures_verify_and_any_change_breaks_them() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let (n, ks) = signed(&key, "ca-guangdong");
        assert_eq!(verify(&n, &ks), Ok(()));
        // Canonical form: key order and whitespace of the file do not matter...
        let json = serde_json::to_string_pretty(&n).unwrap();
        let back: SignedNotice = serde_json::from_str(&json).unwrap();
        assert_eq!(verify(&back, &ks), Ok(()));
        // ...but every value does.
        let mut t = n.clone();
        t.body.deadline = "2026-09-28T17:00:00+08:00".into();
        assert!(matches!(verify(&t, &ks), Err(NoticeError::BadSignature(_))));
        let mut t = n.clone();
        t.body.recipient.name.push('x');
        assert!(verify(&t, &ks).is_err());
        let mut t = n.clone();
        t.id = Uuid::from_u128(9);
        assert!(
            verify(&t, &ks).is_err(),
            "the envelope must match the signed body"
        );
        let mut t = n.clone();
        t.signature.key_id = "ca-guangdong:0000".into();
        assert!(matches!(verify(&t, &ks), Err(NoticeError::UnknownKey(_))));
        // A retired key verifies what it signed before its retirement, nothing after.
        let mut retired = ks.clone();
        retired.keys[0].retired_at = Some("2026-09-28T12:00:00+08:00".into());
        assert_eq!(verify(&n, &retired), Ok(()), "issued before the retirement");
        retired.keys[0].retired_at = Some("2026-09-28T09:00:00+08:00".into());
        assert!(matches!(
            verify(&n, &retired),
            Err(NoticeError::RetiredKey { .. })
        ));
        // A key of another organisation cannot sign in the authority's name.
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let (n2, ks2) = signed(&other, "ca-beijing");
        assert!(matches!(
            verify(&n2, &ks2),
            Err(NoticeError::WrongIssuer { .. })
        ));
    }

    #[test]
    fn canonical_form_is_stable() {
        let a = body().canonical();
        assert_eq!(a, body().canonical());
        let s = String::from_utf8(a).unwrap();
        assert!(
            s.starts_with("{\"appeal\":{\"to\":\"ca-guangdong\",\"until\":\"2026-10-16\"}"),
            "{s}"
        );
    }
}
