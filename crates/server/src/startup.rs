//! Building and running the HTTP service. Binding port 0 gives each test its own server.

use crate::access::{Access, AdminToken};
use crate::expiry::{self, ExpiryConfig};
use crate::ops::Inventory;
use crate::routes::{self, AppState};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use secrecy::{ExposeSecret, SecretString};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

/// What the service needs beyond the store.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `host:port` to bind; port 0 picks a free one.
    pub bind: String,
    /// Admin bearer token; required when `bind` is not a loopback address.
    pub admin_token: Option<SecretString>,
    /// Every endpoint but probes and documents needs a client key (or the admin token).
    pub require_keys: bool,
    /// Serve `?strategy=broken`.
    pub allow_broken: bool,
    /// HTTP worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// Whether each worker thread reaches Redis on a lane of its own.
    pub lanes: Lanes,
    /// An OpenTelemetry collector to export request spans to (OTLP over HTTP), when set.
    pub otlp_endpoint: Option<String>,
    /// Run an expiry worker beside the HTTP server (`None`: another process releases holds).
    pub expiry: Option<ExpiryConfig>,
    /// The ledger's PostgreSQL URL, for reads of aged-out orders (`None`: no ledger).
    pub ledger_url: Option<SecretString>,
    /// Run a ledger projector beside the HTTP server.
    pub projector: Option<crate::ledger::LedgerConfig>,
    /// Which webhook hosts are allowed, and how deliveries retry; with any host allowed, a
    /// webhook sender runs beside the HTTP server.
    pub webhooks: crate::webhooks::WebhookConfig,
    /// Signs and checks waiting-room admissions; shared by every process of a fleet. `None`:
    /// a key of this process alone.
    pub admission_secret: Option<SecretString>,
}

impl Default for HttpSettings {
    /// What `serve` does without flags: loopback port 8080, no credentials, `broken`
    /// refused, an expiry worker beside the server, no ledger, webhooks off.
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            admin_token: None,
            require_keys: false,
            allow_broken: false,
            workers: None,
            lanes: Lanes::default(),
            otlp_endpoint: None,
            expiry: Some(ExpiryConfig::default()),
            ledger_url: None,
            projector: None,
            webhooks: crate::webhooks::WebhookConfig::default(),
            admission_secret: None,
        }
    }
}

/// How the worker threads reach Redis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Lanes {
    /// Each worker thread has its own connections and group-commit queues
    /// ([`Inventory::lane`]): a purchase never wakes another thread, and takes batch per
    /// worker, in the order they reach it, as they would in separate processes.
    #[default]
    PerWorker,
    /// Every worker shares one set of connections and queues: takes batch across the whole
    /// process in one arrival order, at the price of a hand-off between threads per take.
    Shared,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `--bind` does not resolve.
    #[error("--bind {bind}: {source}")]
    Resolve {
        /// As given.
        bind: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// `--bind` resolves to no address.
    #[error("--bind {0} resolves to nothing")]
    NoAddress(String),
    /// A public address with the admin endpoints open.
    #[error(
        "refusing to bind {0} (not a loopback address) with the admin endpoints open: set --admin-token (STOCKWATCH_ADMIN_TOKEN) or --require-keys"
    )]
    PublicWithoutToken(String),
    /// `--admin-token ""`.
    #[error("the admin token must not be empty")]
    EmptyToken,
    /// The address is taken or not ours.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
    /// The ledger's URL was refused.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The OTLP endpoint was refused.
    #[error(transparent)]
    Otlp(#[from] crate::otlp::OtlpError),
}

/// A bound, not yet running, HTTP service (and its expiry worker).
pub struct Application {
    port: u16,
    server: Server,
    store: Inventory,
    expiry: Option<ExpiryConfig>,
    projector: Option<crate::ledger::LedgerConfig>,
    webhooks: crate::webhooks::WebhookConfig,
    /// Flushed when the server stops.
    traces: Option<crate::otlp::TraceExport>,
    /// Fanned out to every background task and endless response when the server stops.
    stop: tokio::sync::broadcast::Sender<()>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds the listener and wires the routes. Refuses a non-loopback bind without an admin
    /// token or `--require-keys`: the admin endpoints would be open to the network.
    pub fn build(settings: HttpSettings, store: Inventory) -> Result<Self, StartupError> {
        let bind = settings.bind.clone();
        let addrs: Vec<SocketAddr> = settings
            .bind
            .to_socket_addrs()
            .map_err(|source| StartupError::Resolve {
                bind: bind.clone(),
                source,
            })?
            .collect();
        let addr = *addrs.first().ok_or_else(|| StartupError::NoAddress(bind.clone()))?;
        let guarded = settings.admin_token.is_some() || settings.require_keys;
        if !guarded && addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(StartupError::PublicWithoutToken(bind));
        }
        if settings
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().is_empty())
        {
            return Err(StartupError::EmptyToken);
        }
        let listener = TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr, source })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
        let state = AppState {
            store: store.clone(),
            access: std::sync::Arc::new(Access {
                admin_token: settings.admin_token.map(AdminToken::new),
                require_keys: settings.require_keys,
                keyring: Default::default(),
            }),
            allow_broken: settings.allow_broken,
            stop: stop.clone(),
            books: settings.ledger_url.as_ref().map(crate::ledger::pool).transpose()?,
            webhooks: settings.webhooks.clone(),
            admission: std::sync::Arc::new(match settings.admission_secret.clone() {
                Some(secret) => crate::admission::AdmissionKey::new(secret),
                None => crate::admission::AdmissionKey::generate(),
            }),
            traces: settings
                .otlp_endpoint
                .as_deref()
                .map(crate::otlp::TraceExport::start)
                .transpose()?,
        };
        let require_keys = settings.require_keys;
        let lanes = settings.lanes;
        let traces = state.traces.clone();
        // Runs on each worker thread as it starts: its lane's connections are made there.
        let mut server = HttpServer::new(move || {
            let state = web::Data::new(match lanes {
                Lanes::PerWorker => state.on_own_lane(),
                Lanes::Shared => state.clone(),
            });
            App::new()
                .wrap(actix_web::middleware::from_fn(routes::observe::observe))
                .app_data(state)
                .configure(routes::configure(require_keys))
                .default_service(web::to(routes::not_found))
        })
        .disable_signals()
        .shutdown_timeout(10);
        if let Some(workers) = settings.workers {
            server = server.workers(workers.max(1));
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind { addr, source })?
            .run();
        Ok(Self {
            port,
            server,
            store,
            expiry: settings.expiry,
            projector: settings.projector,
            webhooks: settings.webhooks,
            traces,
            stop,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish. The shutdown
    /// is fanned out through a broadcast to every background task (the expiry worker).
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        // The one-time conversions of a store from earlier versions, before the first
        // request is served (connections wait in the listen backlog meanwhile): so nothing
        // writes behind a caller's back once the server answers.
        crate::ops::upgrade(&self.store).await;
        let stop = self.stop;
        let worker = self.expiry.map(|config| {
            let mut stopped = stop.subscribe();
            tokio::spawn(expiry::run(self.store.clone(), config, async move {
                let _ = stopped.recv().await;
            }))
        });
        let projector = self.projector.map(|config| {
            let mut stopped = stop.subscribe();
            tokio::spawn(crate::ledger::run(self.store.store().clone(), config, async move {
                let _ = stopped.recv().await;
            }))
        });
        let sender = self.webhooks.enabled().then(|| {
            tokio::spawn(crate::webhooks::sender::run(
                self.store.clone(),
                self.webhooks,
                stop.subscribe(),
            ))
        });
        let handle = self.server.handle();
        let server = self.server;
        tokio::pin!(server);
        let result = tokio::select! {
            result = &mut server => result,
            () = shutdown => {
                tracing::info!("shutting down: finishing in-flight requests");
                // Event streams never finish by themselves; end them first.
                let _ = stop.send(());
                // The server future must keep being polled for the stop to complete.
                let ((), result) = tokio::join!(handle.stop(true), server);
                result
            }
        };
        let _ = stop.send(());
        for task in worker.into_iter().chain(projector).chain(sender) {
            let _ = task.await;
        }
        if let Some(traces) = self.traces {
            let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
        }
        result
    }
}
