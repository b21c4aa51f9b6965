//! The uploads of one till are written in the order they reached this process.
//!
//! A till catching up keeps two uploads in flight (`pos_till::sync`): while one is written, the
//! next is already read and its signatures checked. The second must not be written first: it
//! would start past what head office holds and be refused as a gap, and sent again. So each
//! upload takes its place in its till's queue as it arrives ([`Place::take`]), is read and
//! checked at once, and waits for the upload before it only to write ([`Place::turn`]).
//!
//! The queue is this process's own. Behind a proxy that spreads one till's uploads over
//! several replicas, the order is not kept between them: an upload written early is refused
//! as a gap and the till sends it again, as after any lost answer. Correctness never depends
//! on this queue; the database's lock on the till keeps two uploads from being written at
//! once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use tokio::sync::oneshot;

/// A place's number, and what fires (its sender is dropped) when its upload has been written.
type Last = (u64, oneshot::Receiver<()>);

/// Each till's last place.
static LAST: LazyLock<Mutex<HashMap<String, Last>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
/// The number of the next place taken, for any till.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// An upload's place in its till's queue. Dropping it, written or not, lets the next upload
/// of the till write; if it is dropped while still waiting for its turn, the next upload still
/// waits for the one before.
pub struct Place {
    till_id: String,
    number: u64,
    before: Option<oneshot::Receiver<()>>,
    done: Option<oneshot::Sender<()>>,
}

impl Place {
    /// Takes the place after the last upload of `till_id` that arrived.
    pub fn take(till_id: &str) -> Place {
        let (done, after) = oneshot::channel();
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Places whose upload is written hold nothing: forget them, so the map holds only the
        // tills with an upload in this process.
        last.retain(|_, (_, receiver)| {
            !matches!(
                receiver.try_recv(),
                Err(oneshot::error::TryRecvError::Closed)
            )
        });
        let before = last
            .insert(till_id.to_string(), (number, after))
            .map(|(_, receiver)| receiver);
        Place {
            till_id: till_id.to_string(),
            number,
            before,
            done: Some(done),
        }
    }

    /// Whether an upload of the same till arrived after this one and is not yet written.
    pub fn someone_behind(&self) -> bool {
        let last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        last.get(&self.till_id)
            .is_some_and(|(number, _)| *number != self.number)
    }

    /// Waits until every upload of the till that arrived before this one is written.
    pub async fn turn(&mut self) {
        if let Some(before) = self.before.as_mut() {
            // The sender is never used: dropped when the upload before is done.
            let _ = before.await;
        }
        self.before = None;
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        // Dropped while waiting (the request was abandoned): the upload after this one waits
        // for the one before, in the background, rather than jumping ahead of it.
        if let (Some(before), Some(done)) = (self.before.take(), self.done.take())
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = before.await;
                drop(done);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `next` does not get its turn while `writing` holds its own, and gets it once `writing`
    /// is done.
    async fn assert_waits_for(writing: Place, mut next: Place) {
        let waiting = tokio::time::timeout(Duration::from_millis(50), next.turn()).await;
        assert!(
            waiting.is_err(),
            "the next upload waits for the one writing"
        );
        drop(writing);
        tokio::time::timeout(Duration::from_secs(5), next.turn())
            .await
            .expect("the next upload writes once the one before is done");
    }

    #[tokio::test]
    async fn an_upload_writes_after_the_one_that_arrived_before_it() {
        let mut first = Place::take("T-order");
        let second = Place::take("T-order");
        first.turn().await;
        assert_waits_for(first, second).await;
    }

    #[tokio::test]
    async fn an_abandoned_upload_still_keeps_the_next_one_behind_the_one_before() {
        let mut first = Place::take("T-abandoned");
        let second = Place::take("T-abandoned");
        let third = Place::take("T-abandoned");
        first.turn().await;
        drop(second);
        assert_waits_for(first, third).await;
    }

    #[tokio::test]
    async fn an_upload_knows_whether_another_of_its_till_arrived_after_it() {
        let first = Place::take("T-behind");
        assert!(!first.someone_behind());
        let second = Place::take("T-behind");
        assert!(first.someone_behind());
        assert!(!second.someone_behind());
    }

    #[tokio::test]
    async fn tills_do_not_wait_for_each_other() {
        let _first = Place::take("T-a");
        let mut other = Place::take("T-b");
        tokio::time::timeout(Duration::from_secs(5), other.turn())
            .await
            .expect("another till's upload does not wait");
    }
}
