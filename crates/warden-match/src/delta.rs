//! Deltas between two serials: which rendered units (a name's rules, a network in a set, a
//! CSV row) appeared and which went, given the current snapshot and the measures whose
//! listing changed since the older serial.

use crate::index::Entry;
use crate::live::Snapshot;
use crate::render::{Format, unit_key};
use ipnet::IpNet;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

/// A measure whose listing changed after the older serial, and whether it was listed then.
#[derive(Debug, Clone)]
pub struct Touched {
    pub entry: Arc<Entry>,
    pub listed_then: bool,
}

pub type Units = Vec<(String, Arc<Entry>)>;

/// (removed, added) units of `f` between the older serial and `snap`, counting only entries
/// for which `in_scope` holds (one recipient's list, say).
pub fn delta_units(
    f: Format,
    snap: &Snapshot,
    touched: &[Touched],
    in_scope: &dyn Fn(&Entry) -> bool,
) -> (Units, Units) {
    let touched: Vec<&Touched> = touched
        .iter()
        .filter(|t| f.carries(&t.entry) && in_scope(&t.entry))
        .collect();
    if f == Format::Nftables {
        return nft_delta(snap, &touched, in_scope);
    }
    let ids: HashMap<Uuid, bool> = touched
        .iter()
        .map(|t| (t.entry.measure_id, t.listed_then))
        .collect();
    let mut by_key: BTreeMap<String, Vec<&Touched>> = BTreeMap::new();
    for t in &touched {
        by_key.entry(unit_key(f, &t.entry)).or_default().push(t);
    }
    let (mut removed, mut added) = (vec![], vec![]);
    for (key, ts) in by_key {
        let now: Vec<Arc<Entry>> = snap
            .lookup(&ts[0].entry.target)
            .into_iter()
            .filter(|e| in_scope(e) && unit_key(f, e) == key)
            .collect();
        let then = now.iter().any(|e| !ids.contains_key(&e.measure_id))
            || ts.iter().any(|t| t.listed_then);
        match (then, now.first()) {
            (true, None) => {
                if let Some(t) = ts.iter().find(|t| t.listed_then) {
                    removed.push((key, t.entry.clone()));
                }
            }
            (false, Some(e)) => added.push((key, e.clone())),
            _ => {}
        }
    }
    (removed, added)
}

/// nftables sets hold only networks not covered by a larger listed one, so a change to a
/// network can add or remove the networks inside it.
fn nft_delta(
    snap: &Snapshot,
    touched: &[&Touched],
    in_scope: &dyn Fn(&Entry) -> bool,
) -> (Units, Units) {
    let touched_ids: HashMap<Uuid, bool> = touched
        .iter()
        .map(|t| (t.entry.measure_id, t.listed_then))
        .collect();
    let nets: Vec<IpNet> = touched
        .iter()
        .filter_map(|t| t.entry.target.network().map(|n| n.trunc()))
        .collect();
    // Candidates: the touched networks, and listed networks inside any of them.
    let mut candidates: HashMap<IpNet, Arc<Entry>> = HashMap::new();
    for t in touched {
        if let Some(n) = t.entry.target.network() {
            candidates
                .entry(n.trunc())
                .or_insert_with(|| t.entry.clone());
        }
    }
    if nets.iter().any(|n| n.prefix_len() < n.max_prefix_len()) {
        for e in snap.entries() {
            if !in_scope(e) {
                continue;
            }
            if let Some(n) = e.target.network() {
                let n = n.trunc();
                if nets.iter().any(|t| t.contains(&n)) {
                    candidates.entry(n).or_insert_with(|| e.clone());
                }
            }
        }
    }
    let then_extra: Vec<(IpNet, Arc<Entry>)> = touched
        .iter()
        .filter(|t| t.listed_then)
        .filter_map(|t| {
            t.entry
                .target
                .network()
                .map(|n| (n.trunc(), t.entry.clone()))
        })
        .collect();
    let mut seen = HashSet::new();
    let (mut removed, mut added) = (vec![], vec![]);
    let mut cands: Vec<(IpNet, Arc<Entry>)> = candidates.into_iter().collect();
    cands.sort_by_key(|(n, _)| (n.network(), n.prefix_len()));
    for (c, rep) in cands {
        if !seen.insert(c) {
            continue;
        }
        // Entries now whose network equals or contains c.
        let probe = warden_core::indicator::Indicator::parse(
            warden_core::indicator::IndicatorType::Cidr,
            &c.to_string(),
        );
        let Ok(probe) = probe else { continue };
        let now: Vec<(IpNet, Arc<Entry>)> = snap
            .lookup(&probe)
            .into_iter()
            .filter(|e| in_scope(e))
            .filter_map(|e| e.target.network().map(|n| (n.trunc(), e)))
            .collect();
        let state = |list: &mut dyn Iterator<Item = &(IpNet, Arc<Entry>)>| {
            let (mut listed, mut covered) = (false, false);
            for (n, _) in list {
                if *n == c {
                    listed = true;
                } else if n.contains(&c) {
                    covered = true;
                }
            }
            listed && !covered
        };
        let eff_now = state(&mut now.iter());
        let mut then_iter = now
            .iter()
            .filter(|(_, e)| !touched_ids.contains_key(&e.measure_id))
            .chain(then_extra.iter().filter(|(n, _)| *n == c || n.contains(&c)));
        let eff_then = state(&mut then_iter);
        let key = c.to_string();
        match (eff_then, eff_now) {
            (true, false) => removed.push((key, rep)),
            (false, true) => {
                let e = now
                    .iter()
                    .find(|(n, _)| *n == c)
                    .map_or(rep, |(_, e)| e.clone());
                added.push((key, e));
            }
            _ => {}
        }
    }
    (removed, added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::entry;
    use crate::live::Change;
    use warden_core::indicator::IndicatorType as T;

    fn keys(u: &Units) -> Vec<String> {
        u.iter().map(|(_, e)| e.target.value().to_owned()).collect()
    }

    #[test]
    fn value_level_deltas_ignore_values_still_listed_by_another_measure() {
        let a = entry(1, T::Domain, "evil.example.cn", None);
        let b = entry(2, T::Domain, "evil.example.cn", None);
        let c = entry(3, T::Domain, "gone.example.cn", None);
        let s0 = Snapshot::build(vec![a.clone(), b.clone(), c.clone()], 3);
        let d = entry(4, T::Domain, "new.example.cn", None);
        let s1 = s0.apply(
            &[
                Change::Remove(a.measure_id),
                Change::Remove(c.measure_id),
                Change::Add(d.clone()),
            ],
            6,
        );
        let touched = vec![
            Touched {
                entry: a,
                listed_then: true,
            },
            Touched {
                entry: c,
                listed_then: true,
            },
            Touched {
                entry: d,
                listed_then: false,
            },
        ];
        let (rm, add) = delta_units(Format::Rpz, &s1, &touched, &|_| true);
        assert_eq!(keys(&rm), ["gone.example.cn"]);
        assert_eq!(keys(&add), ["new.example.cn"]);
        // Scoped to nobody: nothing.
        let (rm, add) = delta_units(Format::Rpz, &s1, &touched, &|_| false);
        assert!(rm.is_empty() && add.is_empty());
    }

    #[test]
    fn nftables_deltas_uncover_networks_inside_a_removed_one() {
        let big = entry(1, T::Cidr, "100.100.0.0/16", None);
        let small = entry(2, T::Ipv4, "100.100.1.1", None);
        let s0 = Snapshot::build(vec![big.clone(), small.clone()], 2);
        let s1 = s0.apply(&[Change::Remove(big.measure_id)], 3);
        let touched = vec![Touched {
            entry: big.clone(),
            listed_then: true,
        }];
        let (rm, add) = delta_units(Format::Nftables, &s1, &touched, &|_| true);
        assert_eq!(keys(&rm), ["100.100.0.0/16"]);
        assert_eq!(keys(&add), ["100.100.1.1"]);
        // And the other way round: adding the big one swallows the small one.
        let s2 = s1.apply(&[Change::Add(big.clone())], 4);
        let touched = vec![Touched {
            entry: big,
            listed_then: false,
        }];
        let (rm, add) = delta_units(Format::Nftables, &s2, &touched, &|_| true);
        assert_eq!(keys(&rm), ["100.100.1.1"]);
        assert_eq!(keys(&add), ["100.100.0.0/16"]);
    }
}
