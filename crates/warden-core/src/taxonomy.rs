//! The closed threat taxonomy of Art. 2: five categories, each with its subtypes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Art. 2 (1)–(5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Category {
    /// (1) malicious IP addresses, domains, URLs and electronic messages.
    MaliciousResource,
    /// (2) malicious programs.
    MaliciousProgram,
    /// (3) security weaknesses of services and products.
    Vulnerability,
    /// (4) security incidents: services already intruded or controlled.
    Incident,
    /// (5) anything else that threatens network security.
    Other,
}

/// Every item Art. 2 names, under its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Subtype {
    // (1) 恶意网络资源
    /// Command-and-control of trojans and botnets (木马和僵尸网络控制端).
    C2,
    /// 钓鱼网站
    PhishingSite,
    /// 钓鱼电子邮件
    PhishingEmail,
    /// 钓鱼短信/彩信
    PhishingSms,
    /// 钓鱼即时通信
    PhishingIm,
    /// A malicious IP, domain or URL used for another kind of attack (恶意 IP/域名/URL).
    MaliciousInfrastructure,
    // (2) 恶意程序
    Trojan,
    Virus,
    /// 僵尸程序
    Bot,
    /// 移动恶意程序
    MobileMalware,
    // (3) 安全隐患
    HardwareVulnerability,
    CodeVulnerability,
    BusinessLogicVulnerability,
    WeakPassword,
    Backdoor,
    // (4) 安全事件
    /// 主机受控
    CompromisedHost,
    /// 数据泄露
    DataLeak,
    /// 网页篡改
    Defacement,
    // (5) 其他
    Other,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::MaliciousResource,
        Category::MaliciousProgram,
        Category::Vulnerability,
        Category::Incident,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::MaliciousResource => "malicious_resource",
            Category::MaliciousProgram => "malicious_program",
            Category::Vulnerability => "vulnerability",
            Category::Incident => "incident",
            Category::Other => "other",
        }
    }

    /// The paragraph of Art. 2 that defines the category.
    pub fn article_item(self) -> u8 {
        match self {
            Category::MaliciousResource => 1,
            Category::MaliciousProgram => 2,
            Category::Vulnerability => 3,
            Category::Incident => 4,
            Category::Other => 5,
        }
    }

    pub fn subtypes(self) -> &'static [Subtype] {
        use Subtype::*;
        match self {
            Category::MaliciousResource => &[
                C2,
                PhishingSite,
                PhishingEmail,
                PhishingSms,
                PhishingIm,
                MaliciousInfrastructure,
            ],
            Category::MaliciousProgram => &[Trojan, Virus, Bot, MobileMalware],
            Category::Vulnerability => &[
                HardwareVulnerability,
                CodeVulnerability,
                BusinessLogicVulnerability,
                WeakPassword,
                Backdoor,
            ],
            Category::Incident => &[CompromisedHost, DataLeak, Defacement],
            Category::Other => &[Other],
        }
    }
}

impl Subtype {
    pub fn category(self) -> Category {
        use Subtype::*;
        match self {
            C2
            | PhishingSite
            | PhishingEmail
            | PhishingSms
            | PhishingIm
            | MaliciousInfrastructure => Category::MaliciousResource,
            Trojan | Virus | Bot | MobileMalware => Category::MaliciousProgram,
            HardwareVulnerability
            | CodeVulnerability
            | BusinessLogicVulnerability
            | WeakPassword
            | Backdoor => Category::Vulnerability,
            CompromisedHost | DataLeak | Defacement => Category::Incident,
            Other => Category::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        use Subtype::*;
        match self {
            C2 => "c2",
            PhishingSite => "phishing_site",
            PhishingEmail => "phishing_email",
            PhishingSms => "phishing_sms",
            PhishingIm => "phishing_im",
            MaliciousInfrastructure => "malicious_infrastructure",
            Trojan => "trojan",
            Virus => "virus",
            Bot => "bot",
            MobileMalware => "mobile_malware",
            HardwareVulnerability => "hardware_vulnerability",
            CodeVulnerability => "code_vulnerability",
            BusinessLogicVulnerability => "business_logic_vulnerability",
            WeakPassword => "weak_password",
            Backdoor => "backdoor",
            CompromisedHost => "compromised_host",
            DataLeak => "data_leak",
            Defacement => "defacement",
            Other => "other",
        }
    }

    /// The wording of Art. 2 for this item.
    pub fn label_zh(self) -> &'static str {
        use Subtype::*;
        match self {
            C2 => "木马和僵尸网络控制端",
            PhishingSite => "钓鱼网站",
            PhishingEmail => "钓鱼电子邮件",
            PhishingSms => "钓鱼短信/彩信",
            PhishingIm => "钓鱼即时通信",
            MaliciousInfrastructure => "恶意IP地址、域名、URL",
            Trojan => "木马",
            Virus => "病毒",
            Bot => "僵尸程序",
            MobileMalware => "移动恶意程序",
            HardwareVulnerability => "硬件漏洞",
            CodeVulnerability => "代码漏洞",
            BusinessLogicVulnerability => "业务逻辑漏洞",
            WeakPassword => "弱口令",
            Backdoor => "后门",
            CompromisedHost => "主机受控",
            DataLeak => "数据泄露",
            Defacement => "网页篡改",
            Other => "其他",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Subtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `category/subtype` pair that Art. 2 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Classification {
    pub category: Category,
    pub subtype: Subtype,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxonomyError {
    #[error(
        "unknown category {0:?}: expected one of malicious_resource, malicious_program, vulnerability, incident, other"
    )]
    UnknownCategory(String),
    #[error("unknown subtype {0:?}")]
    UnknownSubtype(String),
    #[error("subtype {subtype} belongs to category {expected}, not {given}")]
    Mismatch {
        subtype: Subtype,
        expected: Category,
        given: Category,
    },
}

impl FromStr for Category {
    type Err = TaxonomyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| TaxonomyError::UnknownCategory(s.to_owned()))
    }
}

impl FromStr for Subtype {
    type Err = TaxonomyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .iter()
            .flat_map(|c| c.subtypes().iter().copied())
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Category::ALL
                    .iter()
                    .flat_map(|c| c.subtypes().iter().map(|t| t.as_str()))
                    .collect();
                TaxonomyError::UnknownSubtype(format!("{s}; expected one of {}", known.join(", ")))
            })
    }
}

impl Classification {
    pub fn new(category: Category, subtype: Subtype) -> Result<Self, TaxonomyError> {
        if subtype.category() != category {
            return Err(TaxonomyError::Mismatch {
                subtype,
                expected: subtype.category(),
                given: category,
            });
        }
        Ok(Classification { category, subtype })
    }

    pub fn parse(category: &str, subtype: &str) -> Result<Self, TaxonomyError> {
        Classification::new(category.parse()?, subtype.parse()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subtype_lists_under_its_own_category_exactly_once() {
        let mut seen = std::collections::HashSet::new();
        for c in Category::ALL {
            for t in c.subtypes() {
                assert_eq!(t.category(), c);
                assert!(seen.insert(*t), "{t} listed twice");
                assert_eq!(t.as_str().parse::<Subtype>(), Ok(*t));
            }
        }
        assert_eq!(seen.len(), 19);
    }

    #[test]
    fn classification_refuses_mismatched_pairs() {
        assert!(Classification::parse("malicious_resource", "c2").is_ok());
        let err = Classification::parse("incident", "c2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "subtype c2 belongs to category malicious_resource, not incident"
        );
        assert!(matches!(
            Classification::parse("malware", "c2"),
            Err(TaxonomyError::UnknownCategory(_))
        ));
        assert!(matches!(
            Classification::parse("incident", "ransom"),
            Err(TaxonomyError::UnknownSubtype(_))
        ));
    }
}
