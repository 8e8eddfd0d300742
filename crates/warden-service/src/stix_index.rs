//! Finding threat and block objects by their STIX ids. The ids are UUIDv5 and cannot be
//! inverted, so these indexes remember which case or measure each id came from, reading only
//! what was written since they last looked.

use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;
use warden_core::lifecycle::{Measure, Report};
use warden_interop::ids;
use warden_store::{CaseVersion, CaseVersionQuery, Store, StoreError, VersionSelect};

/// Maps the STIX ids of threat objects back to the cases they appear in. Ids are UUIDv5 and
/// cannot be inverted, and searching every case for one id on each request would cost
/// database round trips per case. So the first request that names an object reads the
/// latest version of every case once, later ones only the versions written since; each id is
/// kept by a keyed 64-bit hash (a collision only adds a candidate, which the reader's own
/// share then rules out) with the cases it appeared in.
pub struct ThreatIndex {
    hasher: std::hash::RandomState,
    inner: tokio::sync::Mutex<ThreatIds>,
}

#[derive(Default)]
struct ThreatIds {
    /// The position of the last case version read.
    after: i64,
    cases: HashMap<u64, Vec<Uuid>>,
}

impl Default for ThreatIndex {
    fn default() -> Self {
        ThreatIndex {
            hasher: std::hash::RandomState::new(),
            inner: tokio::sync::Mutex::default(),
        }
    }
}

impl ThreatIndex {
    /// The cases an object with this id may belong to, most recently seen first, each once.
    pub(crate) async fn cases(
        &self,
        store: &dyn Store,
        stix_id: &str,
    ) -> Result<Vec<Uuid>, StoreError> {
        use std::hash::BuildHasher;
        // One reader at a time: the first read of every case is not worth doing twice.
        let mut ids = self.inner.lock().await;
        // A case's latest version holds every object its earlier ones did.
        let versions = if ids.after == 0 {
            VersionSelect::Last
        } else {
            VersionSelect::All
        };
        loop {
            let rows = store
                .case_versions(&CaseVersionQuery {
                    after: ids.after,
                    added_after: None,
                    case: None,
                    versions,
                    limit: 500,
                })
                .await?;
            for v in &rows {
                for id in threat_object_ids(store, v).await? {
                    let cases = ids.cases.entry(self.hasher.hash_one(&id)).or_default();
                    if cases.last() != Some(&v.case.id) {
                        cases.push(v.case.id);
                    }
                }
                ids.after = ids.after.max(v.position);
            }
            if rows.len() < 500 {
                break;
            }
        }
        let mut seen = std::collections::HashSet::new();
        Ok(ids
            .cases
            .get(&self.hasher.hash_one(stix_id))
            .map(|c| {
                c.iter()
                    .rev()
                    .filter(|c| seen.insert(**c))
                    .copied()
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// Maps STIX indicator ids back to block measures. Ids are UUIDv5 and cannot be inverted,
/// so this remembers every block the change sequence has named, reading only new changes.
#[derive(Default)]
pub struct IdIndex {
    inner: Mutex<(i64, HashMap<String, Uuid>)>,
}

impl IdIndex {
    pub(crate) async fn measure(
        &self,
        store: &dyn Store,
        stix_id: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let from = match self.inner.lock() {
            Ok(g) => {
                if let Some(m) = g.1.get(stix_id) {
                    return Ok(Some(*m));
                }
                g.0
            }
            Err(_) => 0,
        };
        let mut after = from;
        let mut found = HashMap::new();
        loop {
            let rows = store.block_changes(after, 10_000).await?;
            let Some(last) = rows.last() else { break };
            after = last.serial;
            for r in &rows {
                found
                    .entry(ids::block_indicator(r.block.measure_id))
                    .or_insert(r.block.measure_id);
            }
        }
        let hit = found.get(stix_id).copied();
        if let Ok(mut g) = self.inner.lock() {
            g.0 = g.0.max(after);
            g.1.extend(found);
        }
        Ok(hit)
    }
}

/// The reports and measures of a case as they stood at one of its versions.
pub(crate) async fn version_parts(
    store: &dyn Store,
    v: &CaseVersion,
) -> Result<(Vec<Report>, Vec<Measure>), StoreError> {
    let reports = store
        .reports_of_case(v.case.id)
        .await?
        .into_iter()
        .map(|r| r.value)
        .filter(|r| written_by(r.submitted_at, v.at))
        .collect();
    let measures = store
        .measures_of_case(v.case.id)
        .await?
        .into_iter()
        .map(|m| m.value)
        .filter(|m| written_by(m.decided_at, v.at))
        .collect();
    Ok((reports, measures))
}

/// The ids of every object a case version can share with anyone: what any reader's
/// share is drawn from (a reader sees fewer objects, never others).
async fn threat_object_ids(store: &dyn Store, v: &CaseVersion) -> Result<Vec<String>, StoreError> {
    let (reports, measures) = version_parts(store, v).await?;
    let threat = warden_interop::threat::ThreatVersion {
        case: &v.case,
        at: v.at,
        reports: reports.iter().collect(),
        measures: measures
            .iter()
            .map(|m| (m, warden_core::notice::reference_number(m)))
            .collect(),
        insider: true,
    };
    Ok(threat.objects().into_iter().map(|o| o.id).collect())
}

/// Whether something that happened at `t` is part of a version written at `at`: versions
/// keep microseconds, the records' own times nanoseconds.
fn written_by(t: time::OffsetDateTime, at: time::OffsetDateTime) -> bool {
    t - at < time::Duration::microseconds(1)
}
