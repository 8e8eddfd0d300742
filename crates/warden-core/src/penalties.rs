//! Art. 12: the penalties the Cybersecurity Law allows for not carrying out a notice, as data
//! (`data/policy/penalties.toml`) with its version and source, validated on load. An action
//! on an enforcement record names an article of this table; its kind and amounts must be
//! ones that article allows.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ActionKind {
    /// 约谈
    Talk,
    /// 警告
    Warning,
    /// 罚款
    Fine,
}

/// One fine range of an article, in yuan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FineRange {
    /// When the range applies (ordinary breach, refusal to correct, serious consequences…).
    pub tier: String,
    pub min: u64,
    pub max: u64,
}

/// One article of the law and what it allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PenaltyArticle {
    /// `csl-<number>`: how records name it.
    pub key: String,
    /// Its number in the text in force.
    pub number: u32,
    /// The number the measures (2017) cite it by, before the amendment renumbered it.
    pub cited_as: Option<u32>,
    pub title: String,
    pub kinds: Vec<ActionKind>,
    /// Checked against the text in force; false: carried over, to be confirmed.
    pub confirmed: bool,
    #[serde(default)]
    pub org_fines: Vec<FineRange>,
    #[serde(default)]
    pub person_fines: Vec<FineRange>,
}

/// The whole table, with the version of the law it follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PenaltyTable {
    pub version: String,
    pub law: String,
    /// Which text: adopted, amended, by what.
    pub text: String,
    /// The day the text in force took effect (YYYY-MM-DD).
    #[serde(deserialize_with = "plain_date")]
    pub in_force_from: String,
    pub source: String,
    #[serde(rename = "article")]
    pub articles: Vec<PenaltyArticle>,
}

/// A TOML date (`2026-01-01`, unquoted) or the same text quoted (as JSON carries it).
fn plain_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Date(toml::value::Datetime),
        Text(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::Date(t) => t.to_string(),
        Either::Text(s) => s,
    })
}

/// The table compiled into the binary.
pub const BUILTIN_SOURCE: &str = include_str!("../../../data/policy/penalties.toml");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct PenaltyTableError {
    pub file: String,
    pub key: String,
    pub problem: String,
}

/// What an action asks of the table: its kind, the article, and the amounts.
#[derive(Debug, Clone, Copy)]
pub struct Penalty<'a> {
    pub kind: ActionKind,
    pub basis: &'a str,
    pub amount_yuan: Option<u64>,
    /// The fine on the responsible person, if one is named and fined.
    pub person_amount_yuan: Option<u64>,
}

fn ranges(rs: &[FineRange]) -> String {
    rs.iter()
        .map(|r| format!("{}–{} yuan ({})", r.min, r.max, r.tier))
        .collect::<Vec<_>>()
        .join("; ")
}

impl PenaltyTable {
    pub fn builtin() -> Result<PenaltyTable, PenaltyTableError> {
        PenaltyTable::from_toml("data/policy/penalties.toml", BUILTIN_SOURCE)
    }

    /// Parses and checks a table; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<PenaltyTable, PenaltyTableError> {
        let err = |key: &str, problem: String| PenaltyTableError {
            file: file.to_owned(),
            key: key.to_owned(),
            problem,
        };
        let t: PenaltyTable = toml::from_str(text)
            .map_err(|e| err("(syntax)", e.to_string().trim().replace('\n', " ")))?;
        for (k, v) in [
            ("version", &t.version),
            ("law", &t.law),
            ("text", &t.text),
            ("source", &t.source),
        ] {
            if v.trim().is_empty() {
                return Err(err(k, "required".into()));
            }
        }
        if t.in_force_from.len() != 10 {
            return Err(err("in_force_from", "a plain date like 2026-01-01".into()));
        }
        if t.articles.is_empty() {
            return Err(err("article", "the table names no article".into()));
        }
        let mut names = BTreeSet::new();
        for (i, a) in t.articles.iter().enumerate() {
            let key = format!("article[{i}] ({})", a.key);
            if a.key != format!("csl-{}", a.number) {
                return Err(err(&key, format!("the key must be csl-{}", a.number)));
            }
            for name in std::iter::once(a.key.clone()).chain(a.cited_as.map(|n| format!("csl-{n}")))
            {
                if !names.insert(name.clone()) {
                    return Err(err(&key, format!("{name} names two articles")));
                }
            }
            if a.title.trim().is_empty() {
                return Err(err(&key, "title is required".into()));
            }
            if a.kinds.is_empty() {
                return Err(err(&key, "kinds: at least one kind of action".into()));
            }
            let fines = a.kinds.contains(&ActionKind::Fine);
            if fines && a.org_fines.is_empty() {
                return Err(err(&key, "a fine needs org_fines".into()));
            }
            let ranged = !(a.org_fines.is_empty() && a.person_fines.is_empty());
            if ranged && !fines {
                return Err(err(&key, "fine ranges without the fine kind".into()));
            }
            for (field, rs) in [
                ("org_fines", &a.org_fines),
                ("person_fines", &a.person_fines),
            ] {
                for (j, r) in rs.iter().enumerate() {
                    if r.min == 0 || r.min > r.max || r.tier.trim().is_empty() {
                        return Err(err(
                            &format!("{key}.{field}[{j}]"),
                            "a range needs a tier and 0 < min ≤ max".into(),
                        ));
                    }
                }
            }
        }
        Ok(t)
    }

    /// The article a record names: by its number in force, or as the measures cite it.
    pub fn article(&self, basis: &str) -> Option<&PenaltyArticle> {
        let basis = basis.trim();
        self.articles
            .iter()
            .find(|a| a.key == basis || a.cited_as.is_some_and(|n| basis == format!("csl-{n}")))
    }

    /// Checks an action against the article it cites: the kind must be one the article
    /// allows and each amount inside one of its ranges. The article, or why not.
    pub fn check(&self, p: Penalty<'_>) -> Result<&PenaltyArticle, String> {
        let known: Vec<&str> = self.articles.iter().map(|a| a.key.as_str()).collect();
        let Some(a) = self.article(p.basis) else {
            return Err(format!(
                "basis {:?} is not in the penalty table {} (articles: {})",
                p.basis,
                self.version,
                known.join(", ")
            ));
        };
        if !a.kinds.contains(&p.kind) {
            return Err(format!(
                "Art. {} of the {} does not provide for a {:?}",
                a.number, self.law, p.kind
            ));
        }
        match (p.kind, p.amount_yuan) {
            (ActionKind::Fine, None | Some(0)) => {
                return Err("a fine needs amount_yuan greater than 0".into());
            }
            (ActionKind::Fine, Some(y))
                if !a.org_fines.iter().any(|r| (r.min..=r.max).contains(&y)) =>
            {
                return Err(format!(
                    "{y} yuan is outside what Art. {} allows for an organisation: {}",
                    a.number,
                    ranges(&a.org_fines)
                ));
            }
            (ActionKind::Talk | ActionKind::Warning, Some(_)) => {
                return Err("only a fine has an amount".into());
            }
            _ => {}
        }
        if let Some(y) = p.person_amount_yuan {
            if p.kind != ActionKind::Fine {
                return Err("a responsible person is fined only with a fine".into());
            }
            if a.person_fines.is_empty() {
                return Err(format!(
                    "Art. {} sets no fine for responsible persons",
                    a.number
                ));
            }
            if !a.person_fines.iter().any(|r| (r.min..=r.max).contains(&y)) {
                return Err(format!(
                    "{y} yuan is outside what Art. {} allows for a responsible person: {}",
                    a.number,
                    ranges(&a.person_fines)
                ));
            }
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fine(basis: &str, y: u64) -> Penalty<'_> {
        Penalty {
            kind: ActionKind::Fine,
            basis,
            amount_yuan: Some(y),
            person_amount_yuan: None,
        }
    }

    #[test]
    fn the_builtin_table_follows_the_amended_law() {
        let t = PenaltyTable::builtin().unwrap();
        assert!(t.text.contains("2025年10月28日"));
        // The measures cite the 2017 numbers; both name the same article.
        assert_eq!(t.article("csl-59").unwrap().number, 61);
        assert_eq!(t.article("csl-61").unwrap().cited_as, Some(59));
        assert_eq!(t.article("csl-56").unwrap().key, "csl-58");
        assert!(t.article("csl-99").is_none());
    }

    #[test]
    fn amounts_outside_the_article_are_refused() {
        let t = PenaltyTable::builtin().unwrap();
        assert!(t.check(fine("csl-61", 50_000)).is_ok());
        assert!(
            t.check(fine("csl-59", 10_000_000)).is_ok(),
            "cited as in 2017"
        );
        let e = t.check(fine("csl-61", 5_000)).unwrap_err();
        assert!(e.contains("outside") && e.contains("Art. 61"), "{e}");
        assert!(t.check(fine("csl-62", 1_000_000)).is_err());
        assert!(t.check(fine("csl-61", 20_000_000)).is_err());
        // Talks rest on Art. 58 only, and carry no amount.
        let talk = |basis| Penalty {
            kind: ActionKind::Talk,
            basis,
            amount_yuan: None,
            person_amount_yuan: None,
        };
        assert!(t.check(talk("csl-58")).is_ok());
        assert!(t.check(talk("csl-61")).is_err());
        assert!(t.check(fine("csl-58", 10_000)).is_err());
        // A responsible person's fine has its own range.
        let person = |y| Penalty {
            person_amount_yuan: Some(y),
            ..fine("csl-62", 100_000)
        };
        assert!(t.check(person(50_000)).is_ok());
        assert!(t.check(person(500_000)).is_err());
    }

    #[test]
    fn a_bad_table_says_where() {
        let bad =
            BUILTIN_SOURCE.replace("min = 10_000, max = 50_000", "min = 60_000, max = 50_000");
        let e = PenaltyTable::from_toml("p.toml", &bad).unwrap_err();
        assert!(e.key.contains("org_fines[0]"), "{e}");
        let dup = BUILTIN_SOURCE.replace("cited_as = 60", "cited_as = 59");
        let e = PenaltyTable::from_toml("p.toml", &dup).unwrap_err();
        assert!(e.problem.contains("csl-59"), "{e}");
    }
}
