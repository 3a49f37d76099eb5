//! A work queue with Kubernetes' workqueue semantics: a key is queued at most once, and a
//! key being processed is not handed to a second worker; adding it meanwhile queues it
//! again once the first worker is done. Its depth and the age of its oldest item are
//! exported as metrics.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Notify;

struct Inner<K> {
    queue: VecDeque<K>,
    dirty: HashMap<K, Instant>,
    processing: HashSet<K>,
    shut: bool,
}

/// The queue.
pub struct WorkQueue<K> {
    inner: Mutex<Inner<K>>,
    notify: Notify,
}

impl<K: Clone + Eq + Hash> Default for WorkQueue<K> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                dirty: HashMap::new(),
                processing: HashSet::new(),
                shut: false,
            }),
            notify: Notify::new(),
        }
    }
}

impl<K: Clone + Eq + Hash> WorkQueue<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queue `key` (no-op when already queued).
    pub fn add(&self, key: K) {
        let mut g = self.lock();
        if g.shut || g.dirty.contains_key(&key) {
            return;
        }
        g.dirty.insert(key.clone(), Instant::now());
        if !g.processing.contains(&key) {
            g.queue.push_back(key);
            drop(g);
            self.notify.notify_one();
        }
    }

    /// The next key, waiting for one; `None` once shut down and drained.
    pub async fn get(&self) -> Option<K> {
        loop {
            let notified = self.notify.notified();
            {
                let mut g = self.lock();
                if let Some(k) = g.queue.pop_front() {
                    g.dirty.remove(&k);
                    g.processing.insert(k.clone());
                    if !g.queue.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(k);
                }
                if g.shut {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// The worker is done with `key`: queue it again if it was added meanwhile.
    pub fn done(&self, key: &K) {
        let mut g = self.lock();
        g.processing.remove(key);
        if g.dirty.contains_key(key) {
            g.queue.push_back(key.clone());
            drop(g);
            self.notify.notify_one();
        }
    }

    /// Stop handing out new keys once the queue is empty; wake every waiter.
    pub fn shut_down(&self) {
        self.lock().shut = true;
        self.notify.notify_waiters();
    }

    /// Drop everything queued (not what is in progress): leadership lost.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.queue.clear();
        g.dirty.clear();
    }

    /// Queued keys, and the age in seconds of the oldest.
    #[must_use]
    pub fn depth(&self) -> (usize, f64) {
        let g = self.lock();
        let oldest = g
            .dirty
            .values()
            .min()
            .map_or(0.0, |t| t.elapsed().as_secs_f64());
        (g.queue.len(), oldest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_queued_once_and_never_processed_twice_at_once() {
        let q = WorkQueue::default();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.depth().0, 2);
        let a = q.get().await;
        assert_eq!(a, Some("a"));
        // Added while processing: not handed out until done.
        q.add("a");
        assert_eq!(q.get().await, Some("b"));
        assert_eq!(q.depth().0, 0);
        q.done(&"a");
        assert_eq!(q.get().await, Some("a"));
        q.done(&"a");
        q.done(&"b");
        q.shut_down();
        assert_eq!(q.get().await, None);
    }
}
