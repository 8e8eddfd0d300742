//! Organisations, principals, signing keys and resource claims.

use super::store::SqlStore;
use crate::error::Result;
use crate::model::*;
use crate::traits::*;
use async_trait::async_trait;
use uuid::Uuid;
use warden_core::org::{Organisation, Principal};

#[async_trait]
impl OrganisationStore for SqlStore {
    async fn organisation(&self, id: Uuid) -> Result<Option<Versioned<Organisation>>> {
        self.one(
            "organisation",
            "SELECT version, body FROM organisations WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn organisation_by_slug(&self, slug: &str) -> Result<Option<Versioned<Organisation>>> {
        self.one(
            "organisation",
            "SELECT version, body FROM organisations WHERE slug = $1",
            &[slug.into()],
        )
        .await
    }

    async fn organisations(&self) -> Result<Vec<Versioned<Organisation>>> {
        self.many(
            "organisation",
            "SELECT version, body FROM organisations ORDER BY slug",
            &[],
        )
        .await
    }

    async fn principal(&self, id: Uuid) -> Result<Option<Versioned<Principal>>> {
        self.one(
            "principal",
            "SELECT version, body FROM principals WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn principal_by_name(&self, name: &str) -> Result<Option<Versioned<Principal>>> {
        self.one(
            "principal",
            "SELECT version, body FROM principals WHERE kind = 'user' AND name = $1",
            &[name.into()],
        )
        .await
    }

    async fn principals_of_org(&self, org_id: Uuid) -> Result<Vec<Versioned<Principal>>> {
        self.many(
            "principal",
            "SELECT version, body FROM principals WHERE org_id = $1 ORDER BY kind, name",
            &[org_id.to_string().into()],
        )
        .await
    }

    async fn signing_keys(&self) -> Result<Vec<Versioned<SigningKeyRecord>>> {
        self.many(
            "signing_key",
            "SELECT version, body FROM signing_keys ORDER BY created_us, id",
            &[],
        )
        .await
    }

    async fn resource_claims(
        &self,
    ) -> Result<Vec<Versioned<warden_core::resources::ResourceClaim>>> {
        self.many(
            "resource_claim",
            "SELECT version, body FROM resource_claims ORDER BY created_us, id",
            &[],
        )
        .await
    }

    async fn resource_claim(
        &self,
        id: Uuid,
    ) -> Result<Option<Versioned<warden_core::resources::ResourceClaim>>> {
        self.one(
            "resource_claim",
            "SELECT version, body FROM resource_claims WHERE id = $1",
            &[id.to_string().into()],
        )
        .await
    }

    async fn resource_claims_stamp(&self) -> Result<i64> {
        Ok(self
            .db
            .fetch_optional(
                "SELECT COALESCE(MAX(seq), 0) AS stamp FROM audit_log WHERE subject_type = 'resource_claim'",
                &[],
            )
            .await?
            .map(|r| r.i64("stamp"))
            .transpose()?
            .unwrap_or(0))
    }
}
