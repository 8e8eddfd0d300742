//! Bounds on what one organisation's feeds may take of the platform.

/// The largest feed one upload may carry.
pub const UPLOAD_LIMIT: u64 = 16 << 30;

/// Bounds on feed imports: one organisation's feeds cannot fill the database or keep every
/// server busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Bytes one upload may carry (at most [`UPLOAD_LIMIT`]).
    pub max_upload: u64,
    /// Imports of one organisation not yet finished (receiving, queued or running) at once;
    /// the feed volume it may have stored is this many uploads.
    pub active_per_org: usize,
    /// Imports this process runs at once; the others wait their turn.
    pub running: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            max_upload: UPLOAD_LIMIT,
            active_per_org: 2,
            running: 2,
        }
    }
}
