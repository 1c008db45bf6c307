//! The hook the file helpers of [`tree`](crate::tree) report to (re-exported there).

/// Hears how the file transfers of these helpers go: for progress bars and logs. Install one
/// with [`Client::set_progress`](crate::Client::set_progress).
pub trait ProgressObserver: Send {
    /// A file transfer starts: its remote path, the offset it resumes from, and its full size
    /// when known.
    fn start(&mut self, remote: &[u8], offset: u64, total: Option<u64>);
    /// `bytes` more bytes moved.
    fn advance(&mut self, bytes: u64);
    /// The file transfer ended (successfully or not).
    fn finish(&mut self);
}
