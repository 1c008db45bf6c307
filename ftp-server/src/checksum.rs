//! Checksums of stored files (`HASH` and the X-commands): one background task each, as a
//! transfer is, reading the range the machine asked for from the storage back-end in chunks
//! and hashing every chunk on a blocking thread. Memory is one chunk per checksum; at most one
//! checksum per CPU runs at once server-wide (the others wait their turn, abortable); the
//! session's download rate limits apply, so a checksum reads no faster than a download could.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use ftp_proto::checksum::{HashAlgorithm, Hasher};
use ftp_proto::server::FailureKind;
use ftp_proto::{LogSafe, VirtualPath};
use futures_channel::{mpsc, oneshot};
use futures_io::AsyncRead;
use futures_util::io::AsyncReadExt;

use crate::auth::Principal;
use crate::shared::Shared;
use crate::storage::Storage;
use crate::transfer::{Pace, Progress, TransferEvent, until_aborted};

/// Bytes read and hashed at a time: large enough that handing a chunk to a blocking thread
/// costs little beside hashing it (1 MiB of SHA-256 is about 2 ms), small enough to bound
/// memory.
const CHUNK: usize = 1 << 20;

/// Chunks at most this long are hashed on the task itself: the hand-off would cost more.
const INLINE: usize = 16 << 10;

/// One checksum to compute.
pub(crate) struct Job {
    pub(crate) principal: Principal,
    /// In the storage namespace.
    pub(crate) path: VirtualPath,
    pub(crate) algorithm: HashAlgorithm,
    pub(crate) offset: u64,
    pub(crate) length: u64,
}

/// Computes the checksum of `job`, reporting progress and the end through `events`; `abort`
/// (ABOR, or the session's end) stops it at once.
pub(crate) async fn run<S: Storage, A>(
    shared: Arc<Shared<S, A>>,
    job: Job,
    events: mpsc::UnboundedSender<TransferEvent>,
    mut abort: oneshot::Receiver<()>,
) {
    let started = Instant::now();
    let work = async {
        let _turn = shared.checksums.turn().await;
        let mut reader = shared
            .storage
            .open_read(&job.principal, &job.path, job.offset)
            .await
            .map_err(|e| {
                crate::shared::log_storage_failure(&e, "checksum refused");
                e.kind()
            })?;
        let mut progress = Progress::new(&events);
        let mut pace = Pace::new(&shared, &job.principal.name, false);
        let mut hasher = Hasher::new(job.algorithm);
        let mut buf = vec![0; CHUNK];
        let mut left = job.length;
        while left > 0 {
            let want = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
            let n = fill(&mut reader, buf.get_mut(..want).unwrap_or_default()).await?;
            if n == 0 {
                // The file is shorter than it was when the machine looked: no checksum of
                // what the client asked for can be given.
                return Err(FailureKind::LocalError);
            }
            if n <= INLINE {
                hasher.update(buf.get(..n).unwrap_or_default());
            } else {
                (hasher, buf) = blocking::unblock(move || {
                    hasher.update(buf.get(..n).unwrap_or_default());
                    (hasher, buf)
                })
                .await;
            }
            left -= n as u64;
            progress.tick();
            pace.after(n).await;
        }
        Ok(hasher.finish())
    };
    let result = until_aborted(work, &mut abort).await;
    let user = LogSafe(&job.principal.name);
    match &result {
        Ok(digest) => {
            let secs = started.elapsed().as_secs_f64().max(1e-6);
            tracing::info!(
                %user,
                path = %job.path,
                algorithm = %job.algorithm,
                offset = job.offset,
                bytes = job.length,
                rate_mib_s = format!("{:.1}", job.length as f64 / secs / (1024.0 * 1024.0)),
                %digest,
                "checksum computed"
            );
        }
        Err(kind) => {
            tracing::info!(%user, path = %job.path, algorithm = %job.algorithm, failure = ?kind, "checksum failed")
        }
    }
    let _ = events.unbounded_send(TransferEvent::Checksummed(result));
}

/// Reads until `buf` is full or the stream ends: whole chunks for the hashing threads,
/// whatever sizes the back-end's reads come in.
async fn fill(reader: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> Result<usize, FailureKind> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match reader.read(rest).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(crate::storage::StorageError::from(e).kind()),
        }
    }
    Ok(filled)
}

/// The server-wide bound on checksums running at once: a counting semaphore whose waiters
/// queue in order. A turn is handed straight to the next waiter when one ends; a waiter that
/// gave up (ABOR) is skipped, and a turn handed to one that gives up at that moment comes
/// back when its channel is dropped.
pub(crate) struct Turns {
    state: Arc<Mutex<TurnState>>,
}

struct TurnState {
    free: usize,
    waiting: VecDeque<oneshot::Sender<Turn>>,
}

/// One running checksum's turn; the next waiter's when dropped.
pub(crate) struct Turn {
    /// `None` only for a turn that was never handed out.
    state: Option<Arc<Mutex<TurnState>>>,
}

impl Turns {
    /// At most `n` at once (at least one).
    pub(crate) fn new(n: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(TurnState {
                free: n.max(1),
                waiting: VecDeque::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TurnState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a turn.
    pub(crate) async fn turn(&self) -> Turn {
        loop {
            let rx = {
                let mut state = self.lock();
                if state.free > 0 {
                    state.free -= 1;
                    return Turn {
                        state: Some(Arc::clone(&self.state)),
                    };
                }
                let (tx, rx) = oneshot::channel();
                state.waiting.push_back(tx);
                rx
            };
            // A sender is only dropped unsent if its turn went elsewhere: queue again.
            if let Ok(turn) = rx.await {
                return turn;
            }
        }
    }

    /// Checksums running now.
    #[cfg(test)]
    fn free(&self) -> usize {
        self.lock().free
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some(shared) = self.state.take() else {
            return;
        };
        let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(next) = state.waiting.pop_front() {
            let turn = Self {
                state: Some(Arc::clone(&shared)),
            };
            match next.send(turn) {
                Ok(()) => return,
                // That waiter left: the turn comes back unused, and must not be freed twice.
                Err(mut unused) => unused.state = None,
            }
        }
        state.free += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[test]
    fn turns_are_bounded_and_handed_on_in_order() {
        let turns = Turns::new(1);
        let first = turns.turn().now_or_never().unwrap();
        assert_eq!(turns.free(), 0);
        let mut second = Box::pin(turns.turn());
        let mut third = Box::pin(turns.turn());
        assert!(second.as_mut().now_or_never().is_none());
        assert!(third.as_mut().now_or_never().is_none());
        // A waiter that gives up is skipped; the turn goes to the next one.
        drop(second);
        drop(first);
        let third = third.as_mut().now_or_never().expect("handed on");
        assert_eq!(turns.free(), 0);
        drop(third);
        assert_eq!(turns.free(), 1, "nobody waits: the turn is free again");
        // A turn handed to a waiter that leaves before taking it comes back.
        let held = turns.turn().now_or_never().unwrap();
        let mut waiter = Box::pin(turns.turn());
        assert!(waiter.as_mut().now_or_never().is_none());
        drop(held);
        drop(waiter);
        assert_eq!(turns.free(), 1);
    }
}
