//! `hallmark controller`: watch finished Tekton runs, sign each once, publish the signed
//! bytes everywhere, and record the outcome on the run.
//!
//! - [`record`]: the annotations, label and finalizer on runs, and the pure [`record::decide`].
//! - [`engine`]: the work for one run (claim, sign once, store, publish, record), generic
//!   over the [`engine::RunStore`] (the Kubernetes API, or a directory) and the registry.
//! - [`queue`]: a deduplicating work queue feeding a bounded pool of workers.
//! - [`kube`]: watches, the Kubernetes store, Events, the ConfigMap, leader election.
//! - [`metrics`]: Prometheus metrics and the health endpoints.
//!
//! Memory stays flat as runs accumulate: recorded runs get the `hallmark.dev/state` label,
//! and the watches select runs without it, so signed runs leave the watch; nothing keeps a
//! cache of run objects.

pub mod credentials;
pub mod embedded;
pub mod engine;
pub mod kube;
pub mod metrics;
pub mod queue;
pub mod record;
pub mod settings;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use engine::{Engine, Outcome, RunStore};
use queue::WorkQueue;
use record::{Kind, RunKey};

use credentials::Registries;

/// How the controller runs (flags).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Namespaces to watch; empty: all.
    pub namespaces: Vec<String>,
    /// Concurrent workers.
    pub workers: usize,
    /// Leader election Lease (`NAMESPACE/NAME`), if any.
    pub lease: Option<(String, String)>,
    /// The Lease's duration.
    pub lease_duration: Duration,
    /// This process's identity (claims, Lease holder, Events).
    pub identity: String,
    /// How long in-flight runs may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
}

/// Wire metrics to an outcome.
fn observe(m: &metrics::Metrics, kind: Kind, outcome: &Outcome) {
    let k = m.kind(kind);
    match outcome {
        Outcome::Recorded {
            signed: true,
            latency,
            logged,
            ..
        } => {
            k.sign_created.inc();
            k.payload_stored.inc();
            k.marked_signed.inc();
            if *logged {
                k.payload_uploaded.inc();
            }
            if let Some(l) = latency {
                m.latency
                    .get_or_create(&metrics::KindLabel {
                        kind: kind.lower().into(),
                    })
                    .observe(*l);
            }
        }
        Outcome::Recorded { signed: false, .. } => {
            k.signing_failures.inc();
        }
        Outcome::Retry(_, reason) => {
            m.retries
                .get_or_create(&metrics::KindLabel {
                    kind: kind.lower().into(),
                })
                .inc();
            for part in reason.split("; ") {
                let sink = part.split([' ', ':']).next().unwrap_or("other");
                m.sink_errors
                    .get_or_create(&metrics::SinkLabel {
                        sink: sink.to_owned(),
                        cause: metrics::cause(part).to_owned(),
                    })
                    .inc();
            }
        }
        Outcome::Waiting(r) if r.starts_with("configuration") => {
            m.config_errors.inc();
        }
        Outcome::Waiting(_) | Outcome::Later(..) | Outcome::Skipped(_) | Outcome::Released => {}
    }
}

/// The shared state of a running controller.
pub struct Controller<S, P> {
    /// The engine.
    pub engine: Arc<Engine<S, P>>,
    /// The queue.
    pub queue: Arc<WorkQueue<RunKey>>,
    /// Metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// Runs waiting for a configuration fix (re-queued on every settings change).
    pub parked: Arc<std::sync::Mutex<std::collections::BTreeSet<RunKey>>>,
    /// Runs in back-off: not processed before this instant, whatever events arrive (the
    /// controller's own progress writes are events too).
    pub not_before: Arc<std::sync::Mutex<std::collections::HashMap<RunKey, std::time::Instant>>>,
}

impl<S, P> Clone for Controller<S, P> {
    fn clone(&self) -> Self {
        Self {
            engine: Arc::clone(&self.engine),
            queue: Arc::clone(&self.queue),
            metrics: Arc::clone(&self.metrics),
            parked: Arc::clone(&self.parked),
            not_before: Arc::clone(&self.not_before),
        }
    }
}

impl<S: RunStore + 'static, P: Registries + 'static> Controller<S, P> {
    /// A controller around `engine`.
    #[must_use]
    pub fn new(engine: Engine<S, P>) -> Self {
        Self {
            engine: Arc::new(engine),
            queue: Arc::new(WorkQueue::default()),
            metrics: Arc::new(metrics::Metrics::default()),
            parked: Arc::default(),
            not_before: Arc::default(),
        }
    }

    /// Re-queue the runs parked on a configuration problem (after a settings change).
    pub fn unpark(&self) {
        let keys: Vec<RunKey> = match self.parked.lock() {
            Ok(mut p) => std::mem::take(&mut *p).into_iter().collect(),
            Err(_) => Vec::new(),
        };
        for k in keys {
            self.queue.add(k);
        }
    }

    /// Queue `key` again after `delay`, and not before.
    pub fn requeue_after(&self, key: &RunKey, delay: Duration) {
        let at = std::time::Instant::now() + delay;
        if let Ok(mut nb) = self.not_before.lock() {
            nb.insert(key.clone(), at);
        }
        let (q, k, nb) = (
            Arc::clone(&self.queue),
            key.clone(),
            Arc::clone(&self.not_before),
        );
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Ok(mut nb) = nb.lock()
                && nb.get(&k).is_some_and(|t| *t <= std::time::Instant::now())
            {
                nb.remove(&k);
            }
            q.add(k);
        });
    }

    /// Whether `key` is in back-off.
    fn backing_off(&self, key: &RunKey) -> bool {
        self.not_before
            .lock()
            .is_ok_and(|nb| nb.get(key).is_some_and(|t| *t > std::time::Instant::now()))
    }

    /// One worker: take keys until the queue shuts down.
    pub async fn worker(self) {
        while let Some(key) = self.queue.get().await {
            if self.backing_off(&key) {
                self.queue.done(&key);
                continue;
            }
            let span = tracing::info_span!(
                "run",
                kind = key.kind.lower(),
                namespace = %key.namespace,
                run = %key.name,
                uid = tracing::field::Empty
            );
            let outcome =
                tracing::Instrument::instrument(self.engine.process(&key), span.clone()).await;
            let entered = span.enter();
            observe(&self.metrics, key.kind, &outcome);
            match &outcome {
                Outcome::Recorded { signed, parent, .. } => {
                    tracing::info!(run = %key, signed, "recorded");
                    if let Some(p) = parent {
                        self.queue.add(RunKey {
                            kind: Kind::PipelineRun,
                            namespace: key.namespace.clone(),
                            name: p.clone(),
                        });
                    }
                }
                Outcome::Retry(after, reason) => {
                    tracing::warn!(run = %key, retry_in = ?after, reason, "will retry");
                    self.requeue_after(&key, *after);
                }
                Outcome::Waiting(reason) => {
                    tracing::info!(run = %key, reason, "waiting");
                    if reason.starts_with("configuration")
                        && let Ok(mut p) = self.parked.lock()
                    {
                        p.insert(key.clone());
                    }
                }
                Outcome::Later(after, why) => {
                    tracing::info!(run = %key, retry_in = ?after, why, "not yet");
                    self.requeue_after(&key, *after);
                }
                Outcome::Skipped(why) => tracing::debug!(run = %key, why, "skipped"),
                Outcome::Released => {
                    tracing::warn!(run = %key, "finalizer released at the deadline")
                }
            }
            drop(entered);
            self.queue.done(&key);
        }
    }

    /// Run `n` workers until the queue shuts down and drains.
    pub async fn run_workers(&self, n: usize) {
        let handles: Vec<_> = (0..n.max(1))
            .map(|_| tokio::spawn(self.clone().worker()))
            .collect();
        for h in handles {
            let _ = h.await;
        }
    }
}

/// Run in the cluster until SIGTERM/SIGINT: leader election (when a Lease is named),
/// watches, workers, and a deadline timer for runs being deleted.
pub async fn run_in_cluster<P: Registries + 'static>(
    client: ::kube::Client,
    controller: Controller<kube::KubeStore, P>,
    opts: &RunOptions,
    ready: Arc<AtomicBool>,
) {
    if let Some((ns, name)) = &opts.lease {
        let elector = kube::LeaderElector::new(
            client.clone(),
            ns,
            name,
            &opts.identity,
            opts.lease_duration,
        );
        tracing::info!(lease = %format!("{ns}/{name}"), identity = %opts.identity, "waiting for leadership");
        elector.acquire().await;
        tracing::info!(identity = %opts.identity, "leading");
        controller.metrics.leader.set(1);
        let lost = async move {
            elector.hold().await;
        };
        tokio::select! {
            () = lost => {
                tracing::error!("lost the lease: stopping (in-flight runs resume from their stored records)");
                controller.metrics.leader.set(0);
            }
            () = run_leader(client, controller.clone(), opts, ready) => {}
        }
        return;
    }
    run_leader(client, controller, opts, ready).await;
}

async fn run_leader<P: Registries + 'static>(
    client: ::kube::Client,
    controller: Controller<kube::KubeStore, P>,
    opts: &RunOptions,
    ready: Arc<AtomicBool>,
) {
    let namespaces: Vec<Option<String>> = if opts.namespaces.is_empty() {
        vec![None]
    } else {
        opts.namespaces.iter().cloned().map(Some).collect()
    };
    let mut tasks = Vec::new();
    let synced: Vec<Arc<AtomicBool>> = (0..namespaces.len() * 2).map(|_| Arc::default()).collect();
    let mut i = 0;
    for ns in &namespaces {
        for kind in [Kind::TaskRun, Kind::PipelineRun] {
            tasks.push(tokio::spawn(kube::watch_runs(
                client.clone(),
                kind,
                ns.clone(),
                Arc::clone(&controller.queue),
                Arc::clone(&synced[i]),
            )));
            i += 1;
        }
    }
    let readiness = {
        let ready = Arc::clone(&ready);
        tokio::spawn(async move {
            while !synced.iter().all(|s| s.load(Ordering::Relaxed)) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            ready.store(true, Ordering::Relaxed);
        })
    };
    tasks.push(readiness);
    let workers = controller.run_workers(opts.workers);
    let mut workers = std::pin::pin!(workers);
    tokio::select! {
        () = &mut workers => {}
        () = shutdown_signal() => {
            // Nothing new starts; what is in flight may finish within the grace period.
            // A run abandoned past it is safe: its claim expires, and its stored record
            // is republished by whoever takes it next.
            tracing::info!(grace = ?opts.shutdown_grace, "shutting down: finishing in-flight runs");
            controller.queue.clear();
            controller.queue.shut_down();
            if tokio::time::timeout(opts.shutdown_grace, &mut workers).await.is_err() {
                tracing::warn!("in-flight runs abandoned at the end of the grace period");
            }
        }
    }
    for t in tasks {
        t.abort();
    }
}

/// SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
