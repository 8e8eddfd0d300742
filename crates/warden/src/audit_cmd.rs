//! `warden audit`: the trail verified from the database itself, with the checks that hold
//! against whoever can write to it: the checkpoints' signatures, copies of the checkpoints
//! kept elsewhere, and every live row read back against the trail.

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Subcommand;
use std::path::PathBuf;
use warden_service::keys::{MasterKey, VerifyingKey, first_unsigned_checkpoint, parse_public_key};
use warden_service::proto::{CheckpointDoc, CheckpointPage};
use warden_store::Checkpoint;

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Recompute the hash chain and check the numbered, linked, signed checkpoints; exit 0
    /// only when it is intact, else name the first entry or checkpoint that does not hold
    Verify {
        /// The master key file, from which the platform's checkpoint key is derived
        #[arg(
            long,
            env = "WARDEN_MASTER_KEY_FILE",
            default_value = "warden-data/master.key"
        )]
        master_key_file: PathBuf,
        /// Check the chain alone, without the checkpoints' signatures (no master key here)
        #[arg(long)]
        no_signatures: bool,
        /// Checkpoints saved earlier from GET /api/v1/audit/checkpoints (one page, or a JSON
        /// array of checkpoints): each must still be in the database, unchanged, and match
        /// the chain. The page's platform key checks the signatures when no master key is here
        #[arg(long, value_name = "FILE")]
        against: Option<PathBuf>,
        /// Also read every object's live row back against the state the trail recorded,
        /// naming each object and field that differs
        #[arg(long)]
        deep: bool,
    },
}

/// Checkpoints saved from the API, and the key the page said signs them.
fn saved_checkpoints(path: &PathBuf) -> Result<(Vec<Checkpoint>, Option<VerifyingKey>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read saved checkpoints {}", path.display()))?;
    let (docs, key) = match serde_json::from_str::<CheckpointPage>(&text) {
        Ok(page) => (page.items, Some(page.platform_key)),
        Err(_) => (
            serde_json::from_str::<Vec<CheckpointDoc>>(&text).with_context(|| {
                format!(
                    "{} is neither a page of GET /api/v1/audit/checkpoints nor a JSON array of its items",
                    path.display()
                )
            })?,
            None,
        ),
    };
    let key = key
        .map(|k| {
            parse_public_key(&k).ok_or_else(|| {
                anyhow!(
                    "{}: platform_key is not a base64 Ed25519 public key",
                    path.display()
                )
            })
        })
        .transpose()?;
    Ok((docs.into_iter().map(Into::into).collect(), key))
}

pub(crate) async fn audit_command(url: &str, command: AuditCommand) -> Result<()> {
    let AuditCommand::Verify {
        master_key_file,
        no_signatures,
        against,
        deep,
    } = command;
    let store = warden_store::open(url).await?;
    let (saved, saved_key) = match &against {
        Some(p) => saved_checkpoints(p)?,
        None => (Vec::new(), None),
    };
    let master_key = if master_key_file.exists() {
        Some(
            MasterKey::load_or_create(&master_key_file)?
                .platform_key()
                .verifying_key(),
        )
    } else {
        None
    };
    if let (Some(m), Some(s)) = (&master_key, &saved_key)
        && m != s
    {
        bail!(
            "the saved checkpoints name another platform key than {}'s: they come from another installation, or the key was changed",
            master_key_file.display()
        );
    }
    let key = master_key.or(saved_key);
    let check = store.verify_audit_from(None, &saved).await?;
    if !check.intact {
        bail!(
            "BROKEN at entry {}: {}",
            check.first_broken.unwrap_or_default(),
            check.problem.unwrap_or_default()
        );
    }
    let signed = match key {
        Some(key) => {
            let mut all = store.checkpoints().await?;
            all.extend(saved.iter().cloned());
            if let Some((seq, problem)) = first_unsigned_checkpoint(&all, &key) {
                bail!("BROKEN at entry {seq}: {problem}");
            }
            format!("{} signed checkpoints verified", check.checkpoints)
        }
        None if no_signatures => format!(
            "{} checkpoints match; signatures not checked (--no-signatures)",
            check.checkpoints
        ),
        // A chain whose signatures were not checked proves little against whoever can
        // write to the database: say so, and fail.
        None => bail!(
            "the chain is intact, but the checkpoints' signatures cannot be checked: {} not found; give --master-key-file, --against a saved page of checkpoints, or --no-signatures to check the chain alone",
            master_key_file.display()
        ),
    };
    if !saved.is_empty() {
        println!(
            "{} saved checkpoints found unchanged in the database and in the chain",
            saved.len()
        );
    }
    println!(
        "intact: {} entries, head {}; {signed}",
        check.entries, check.head_hash
    );
    if deep {
        let d = store.deep_check().await?;
        for x in &d.discrepancies {
            println!(
                "DIFFERS {} {} {}: {}",
                x.subject_type, x.id, x.field, x.problem
            );
        }
        if d.differences > 0 {
            bail!(
                "{} of {} objects' fields differ from the trail (listed above{})",
                d.differences,
                d.objects,
                if d.differences as usize > d.discrepancies.len() {
                    ", the first 1,000"
                } else {
                    ""
                }
            );
        }
        println!(
            "deep: {} objects read back; each agrees with the trail",
            d.objects
        );
    }
    Ok(())
}
