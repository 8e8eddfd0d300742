//! The printable form of a signed notice: what a recipient files or hands to a lawyer. It
//! shows the reference number, the deadline, the signature's key and fingerprint, and how to
//! verify the notice offline.

use warden_core::notice::{NoticeType, SignedNotice, fingerprint};

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn row(label: &str, value: &str) -> String {
    format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(label), esc(value))
}

pub fn notice_html(n: &SignedNotice, status: &str) -> String {
    let b = &n.body;
    let title = match b.notice_type {
        NoticeType::Measure => "网络安全威胁处置通知 · Notice of measure",
        NoticeType::Revocation => "处置措施撤销通知 · Notice of revocation",
        NoticeType::Modification => "处置措施变更通知 · Notice of modification",
        NoticeType::Notification => "网络安全威胁处置通报 · Notification (Art. 8(3))",
    };
    let canonical = b.canonical();
    let mut rows = String::new();
    rows += &row("Reference 编号", &b.reference);
    rows += &row(
        "Issuer 发文单位",
        &format!("{} ({})", b.issuer.name, b.issuer.slug),
    );
    rows += &row(
        "Recipient 接收单位",
        &format!("{} ({})", b.recipient.name, b.recipient.slug),
    );
    rows += &row("Measure 处置措施", b.kind_label());
    if let Some(t) = &b.target {
        rows += &row("Target 对象", &format!("{} ({})", t.value(), t.kind()));
    }
    rows += &row("Legal basis 依据", &b.legal_basis);
    for (key, value) in b.threat_rows() {
        let label = match key {
            "threat" => "Threat 威胁",
            "severity" => "Severity 危害程度",
            "summary" => "Determination 研判结论",
            "malware_family" => "Malware family 恶意程序家族",
            "hashes" => "File hashes 样本哈希",
            "vulnerabilities" => "Vulnerabilities 漏洞编号",
            "victim" => "Affected system 受影响系统",
            "notified" => "Notified under Art. 8(3) 同时通报",
            "indicators" => "Indicators 相关威胁指标",
            "asked" => "Asked of the recipient 处置要求",
            "report_back" => "Reporting back 结果反馈",
            other => other,
        };
        rows += &row(label, &value);
    }
    rows += &row("Decided 决定时间", &b.decided_at);
    rows += &row(
        "Deadline 处置时限",
        &format!(
            "{}{}",
            b.deadline,
            if b.deadline_provisional {
                " (provisional: calendar data missing)"
            } else {
                ""
            }
        ),
    );
    if b.emergency {
        rows += &row(
            "Emergency 紧急",
            &format!(
                "yes; written notice due {}",
                b.written_notice_due.as_deref().unwrap_or("-")
            ),
        );
    }
    if let Some(e) = &b.block_expires_at {
        rows += &row("Block expires 屏蔽期限", e);
    }
    if let Some(a) = &b.appeal {
        rows += &row(
            "Appeal 申诉",
            &format!(
                "to {} until {} (24:00 Asia/Shanghai), Art. 10{}",
                a.to,
                a.until,
                if a.provisional {
                    "; provisional: the official calendar of that year is not yet published, so the latest possible day is given"
                } else {
                    ""
                }
            ),
        );
    }
    if let Some(r) = &b.reasons {
        rows += &row("Reasons 理由", r);
    }
    rows += &row("Status 状态", status);
    rows += &row("Signature key 签名密钥", &n.signature.key_id);
    rows += &row(
        "Body fingerprint 内容指纹 (SHA-256)",
        &fingerprint(&canonical),
    );
    rows += &row("Signature 签名 (Ed25519)", &n.signature.value);
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t} {r}</title>\
<style>body{{font-family:serif;max-width:48em;margin:2em auto}}th{{text-align:left;padding-right:1em;vertical-align:top}}td{{word-break:break-all;white-space:pre-line}}</style>\
</head><body><h1>{t}</h1><table>\n{rows}</table>\
<h2>How to verify 如何验证</h2><p>Save the JSON of this notice (GET /api/v1/notices/{id}) and the published keys \
(GET /api/v1/keys), then run <code>warden notice verify notice.json --keys keys.json</code>. \
The signature covers the RFC 8785 canonical JSON of the body, whose SHA-256 is the fingerprint above.</p>\
</body></html>\n",
        t = esc(title),
        r = esc(&b.reference),
        id = n.id,
    )
}
