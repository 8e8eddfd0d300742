//! Bulletins to members and public publications (Art. 6).

use crate::filters::PageRequest;
use crate::proto::*;
use crate::service::{Idem, Result, Service, cursor_error};
use uuid::Uuid;
use warden_core::org::Actor;
use warden_store::{Changeset, Write};

impl Service {
    pub async fn issue_bulletin(
        &self,
        actor: &Actor,
        draft: warden_core::bulletin::BulletinDraft,
        idem: Option<Idem>,
    ) -> Result<warden_core::bulletin::Bulletin> {
        let issued = self
            .once(idem, || async {
                let now = self.now();
                let out =
                    warden_core::bulletin::Bulletin::issue(actor, Uuid::now_v7(), draft, now)?;
                let changes = Changeset::new(
                    actor.clone(),
                    now,
                    vec![Write::Bulletin {
                        bulletin: out.next.clone(),
                        expected: None,
                    }],
                    out.events,
                );
                Ok((out.next, changes))
            })
            .await;
        // What this node publishes shows on its public collection at once (other nodes
        // rebuild theirs within seconds).
        *self
            .publications_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        issued
    }

    pub async fn bulletins(
        &self,
        actor: &Actor,
        kind: warden_core::bulletin::BulletinKind,
        q: PageRequest,
    ) -> Result<BulletinList> {
        let page = self
            .store
            .bulletins(kind, q.limit, q.cursor.as_deref())
            .await
            .map_err(cursor_error)?;
        Ok(BulletinList {
            items: page
                .items
                .into_iter()
                .map(|b| b.value)
                .filter(|b| b.visible_to(actor))
                .collect(),
            next: page.next,
        })
    }
}
