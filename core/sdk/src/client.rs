//! [`ChatClient`]: the object an app holds. `open` is synchronous and offline (store + cached session, no network,
//! no threads); everything that talks to the server is an `async` method.
//!
//! Shape (for the UniFFI skin): the app gets an `Arc<ChatClient>`; methods take owned or borrowed plain data and
//! return owned records; callbacks are `Arc<dyn Trait + Send + Sync>` whose methods return `Result`.
//!
//! Async from any executor: the public async methods run their work on the SDK's own tokio runtime
//! ([`ClientInner::spawn`]) and await the `JoinHandle`, which any executor can poll. reqwest (tokio-based) therefore
//! always runs inside tokio, whether the caller is Kotlin coroutines, Swift concurrency, `futures::executor` or a test
//! on another tokio runtime.
//!
//! The runtime (2 worker threads named `chatflow-*`) and the HTTP client are created on first use, which keeps `open`
//! within its cold-start budget. Dropping the client shuts the runtime down with `shutdown_background()`, which never
//! blocks and so never panics when the last handle is dropped inside async code.
//!
//! Capabilities add their methods in their own `impl ChatClient` blocks (`chatflow/`, `session/`, `consent/`, `sync/`,
//! …); this file only holds what they share. Background tasks must hold a `Weak<ClientInner>` (see
//! [`ChatClient::downgrade`]) so that dropping the app's last `Arc<ChatClient>` really stops them.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::runtime::{Handle, Runtime};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::session::SessionState;
use crate::store::Store;
use crate::transport::HttpClient;

/// Worker threads of the SDK runtime: background work is I/O-bound and phones have few cores to spare.
const WORKER_THREADS: usize = 2;

/// The SDK's entry point. Cheap to share: hold it in an `Arc` (what [`ChatClient::open`] returns).
pub struct ChatClient {
    pub(crate) inner: Arc<ClientInner>,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient").field("app_id", &self.inner.config.app_id).finish()
    }
}

/// What the client and its background tasks share: the configuration, the local store (each capability queries
/// only its own tables, `tests/layout.rs`), the capabilities' services, and the runtime and HTTP client created on
/// first use. Fields are private: a capability reaches another through its service's methods. Keep them cheap to
/// construct: `open` has a 10 ms budget.
pub struct ClientInner {
    config: Config,
    store: Arc<Store>,
    /// The visitor's session and identity (`session/`).
    session: SessionState,
    /// Send queue, realtime connection and events (`sync/`). Cheap to build: no task starts before first use.
    messaging: Arc<crate::sync::SyncState>,
    /// Knowledge-base sync and search (`kb/`). Cheap to build: no I/O.
    kb: crate::kb::KnowledgeBase,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
    http: OnceLock<HttpClient>,
    runtime: OnceLock<Runtime>,
}

impl std::fmt::Debug for ClientInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInner").field("app_id", &self.config.app_id).finish()
    }
}

impl ChatClient {
    /// Opens (or creates) the local database in `storage_dir` and loads the cached session. No network, no thread.
    ///
    /// `storage_dir` should be app-private (Android `filesDir`, iOS Application Support): it holds the visitor token.
    pub fn open(config: Config, storage_dir: impl AsRef<Path>) -> Result<Arc<ChatClient>> {
        config.validate()?;
        let store = Arc::new(Store::open(storage_dir.as_ref())?);
        let session = SessionState::load(&store)?;
        let sync = Arc::new(crate::sync::SyncState::new(store.clone()));
        let kb = crate::kb::KnowledgeBase::new(store.clone());
        let inner = ClientInner {
            config,
            store,
            session,
            messaging: sync,
            kb,
            tls: OnceLock::new(),
            http: OnceLock::new(),
            runtime: OnceLock::new(),
        };
        Ok(Arc::new(ChatClient { inner: Arc::new(inner) }))
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The local store (for the other capabilities and for tests).
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// A handle for background tasks that must not keep the client alive.
    pub(crate) fn downgrade(&self) -> Weak<ClientInner> {
        Arc::downgrade(&self.inner)
    }

    /// Runs `f(inner)` on the SDK runtime and awaits it from whatever executor the caller uses.
    pub(crate) async fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<ClientInner>) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let inner = self.inner.clone();
        let work = f(inner.clone());
        inner.spawn_for(work)?.output().await?
    }
}

/// A task spawned with [`ClientInner::spawn_for`]: its output, for any executor to await.
pub(crate) struct Spawned<T> {
    task: tokio::task::JoinHandle<()>,
    output: tokio::sync::oneshot::Receiver<T>,
}

impl<T> Spawned<T> {
    /// The task's output: a panic in it is an internal error, a runtime shut down (the client dropped) `Closed`.
    pub(crate) async fn output(self) -> Result<T> {
        self.task.await.map_err(join_error)?;
        // The task ran to its end, so it sent its output.
        self.output.await.map_err(|_| Error::Closed)
    }

    pub(crate) fn abort(&self) {
        self.task.abort();
    }
}

fn join_error(e: tokio::task::JoinError) -> Error {
    if e.is_cancelled() {
        Error::Closed
    } else {
        // A panic inside SDK code: report it as an error rather than unwinding into the app (or across the FFI).
        Error::internal(format!("an SDK task failed: {e}"))
    }
}

impl ClientInner {
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub(crate) fn session(&self) -> &SessionState {
        &self.session
    }

    /// The messaging service: send queue, realtime connection, events.
    pub(crate) fn messaging(&self) -> &Arc<crate::sync::SyncState> {
        &self.messaging
    }

    pub(crate) fn kb(&self) -> &crate::kb::KnowledgeBase {
        &self.kb
    }

    /// The SDK runtime, created on first use.
    pub(crate) fn runtime(&self) -> Result<&Runtime> {
        if let Some(rt) = self.runtime.get() {
            return Ok(rt);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .max_blocking_threads(WORKER_THREADS)
            .thread_name_fn(|| {
                static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                format!("chatflow-{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
            })
            .enable_all()
            .build()
            .map_err(|e| Error::internal(format!("cannot start the SDK's worker threads: {e}")))?;
        if let Err(extra) = self.runtime.set(rt) {
            // Another thread won the race; ours has run nothing, stop it without blocking.
            extra.shutdown_background();
        }
        self.runtime.get().ok_or(Error::Closed)
    }

    pub(crate) fn handle(&self) -> Result<Handle> {
        Ok(self.runtime()?.handle().clone())
    }

    /// Spawns `fut` on the SDK runtime. Every task has the same type (a boxed future with no output), so tokio's
    /// task machinery is compiled once for all of them (library size, docs/decisions.md #13); a result travels back
    /// by channel ([`ChatClient::run`]).
    pub(crate) fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) -> Result<tokio::task::JoinHandle<()>> {
        let task: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(fut);
        Ok(self.runtime()?.spawn(task))
    }

    /// Spawns `fut` on the SDK runtime; its output is awaited through the returned [`Spawned`].
    pub(crate) fn spawn_for<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<Spawned<T>> {
        let (output_tx, output) = tokio::sync::oneshot::channel();
        let task = self.spawn(async move {
            let _ = output_tx.send(fut.await);
        })?;
        Ok(Spawned { task, output })
    }

    /// The TLS configuration REST and the realtime socket share, built on first use (loading the platform's trust
    /// store costs milliseconds `open` does not have).
    pub(crate) fn tls(&self) -> Result<Arc<rustls::ClientConfig>> {
        if let Some(t) = self.tls.get() {
            return Ok(t.clone());
        }
        let _ = self.tls.set(crate::transport::tls::client_config(&self.config)?);
        self.tls.get().cloned().ok_or(Error::Closed)
    }

    /// The HTTP client, built on first use, on [`ClientInner::tls`].
    pub(crate) fn http(&self) -> Result<&HttpClient> {
        if let Some(h) = self.http.get() {
            return Ok(h);
        }
        let built = HttpClient::new(&self.config.server_url, &self.config.app_id, self.tls()?)?;
        let _ = self.http.set(built);
        self.http.get().ok_or(Error::Closed)
    }

    /// `/v1/apps/{app_id}` — the prefix of the app-scoped routes.
    pub(crate) fn app_path(&self) -> String {
        format!("/v1/apps/{}", self.config.app_id)
    }
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            // Never `drop(rt)`: that blocks until tasks finish and panics inside async code.
            rt.shutdown_background();
        }
    }
}

/// Wall-clock now in Unix milliseconds (device clock; the server keeps its own for ordering).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(dir: &Path) -> Arc<ChatClient> {
        let config = Config::from_json_str(
            r#"{"server_url":"http://127.0.0.1:9","app_id":"a","environment":"development","default_tag":"t"}"#,
        )
        .unwrap();
        ChatClient::open(config, dir).unwrap()
    }

    #[test]
    fn open_starts_no_thread_and_the_runtime_names_its_threads() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        assert!(c.inner.runtime.get().is_none(), "open must not start the runtime");
        let name = futures_block_on(c.run(|_| async { Ok(std::thread::current().name().map(str::to_owned)) }));
        assert!(name.unwrap().unwrap().starts_with("chatflow-"));
    }

    #[test]
    fn dropping_the_last_handle_on_the_sdk_runtime_does_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let inner = c.inner.clone();
        drop(c);
        let handle = inner.handle().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        handle.spawn(async move {
            drop(inner); // the last Arc<ClientInner>: shuts its own runtime down from one of its workers
            let _ = tx.send(());
        });
        rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn async_methods_work_from_a_foreign_runtime_and_drop_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        // reqwest runs on the SDK runtime even though this test's runtime has no IO driver enabled for it.
        let err = c.refresh_chatflows().await.unwrap_err();
        assert!(matches!(err, Error::Network { .. }), "{err:?}");
        drop(c); // inside async code: must not panic
    }

    /// A minimal executor (not tokio) to show the public futures need none.
    fn futures_block_on<F: Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Wake, Waker};
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            match f.as_mut().poll(&mut cx) {
                Poll::Ready(v) => return v,
                Poll::Pending => std::thread::park(),
            }
        }
    }
}
