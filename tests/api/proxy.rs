//! A small TCP fault proxy in front of the test redis-server's Unix socket. It forwards
//! bytes both ways, and can be told to:
//! - let one command through and then drop its reply (closing the connection): exactly a
//!   lost EXEC reply, where the server applied the transaction and the client never heard;
//! - delay every reply (a slow network or an overloaded server);
//! - reset every open connection (RST), as a crashed middlebox or a failover would.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

pub struct FaultProxy {
    port: u16,
    armed: Arc<Mutex<Option<Vec<u8>>>>,
    tripped: Arc<AtomicUsize>,
    faults: Arc<Faults>,
}

/// Faults applied to every connection.
#[derive(Default)]
struct Faults {
    /// Milliseconds each server reply is held back.
    delay_ms: AtomicU64,
    /// Bumped to reset every connection open at that moment.
    generation: AtomicU64,
    /// Connections reset so far.
    resets: AtomicUsize,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (a redis+unix:// URL).
    pub async fn start(upstream_url: &str) -> Self {
        let socket = PathBuf::from(upstream_url.strip_prefix("redis+unix://").expect("a unix URL"));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(Mutex::new(None));
        let tripped = Arc::new(AtomicUsize::new(0));
        let faults = Arc::new(Faults::default());
        let (a, t, f) = (armed.clone(), tripped.clone(), faults.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if let Ok(upstream) = UnixStream::connect(&socket).await {
                    tokio::spawn(forward(client, upstream, a.clone(), t.clone(), f.clone()));
                }
            }
        });
        Self {
            port,
            armed,
            tripped,
            faults,
        }
    }

    /// Holds back every reply from now on by `delay` (zero: none).
    pub fn delay(&self, delay: Duration) {
        self.faults.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Resets (RST) every connection open now; new ones go through.
    pub fn reset_all(&self) {
        self.faults.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Connections reset so far.
    pub fn resets(&self) -> usize {
        self.faults.resets.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The next client write containing `pattern` is forwarded, and the server's reply to
    /// it is swallowed and the connection closed.
    pub fn drop_reply_once(&self, pattern: &[u8]) {
        *self.armed.lock().unwrap() = Some(pattern.to_vec());
    }

    /// How many replies were dropped so far.
    pub fn tripped(&self) -> usize {
        self.tripped.load(Ordering::SeqCst)
    }
}

async fn forward(
    client: TcpStream,
    upstream: UnixStream,
    armed: Arc<Mutex<Option<Vec<u8>>>>,
    tripped: Arc<AtomicUsize>,
    faults: Arc<Faults>,
) {
    let born = faults.generation.load(Ordering::SeqCst);
    // Linger 0: closing sends RST, not FIN. (Deprecated because a non-zero linger blocks
    // the thread on drop; zero does not.)
    #[allow(deprecated)]
    let _ = client.set_linger(Some(Duration::ZERO));
    let (mut cr, mut cw) = client.into_split();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let (mut ur, mut uw) = upstream.into_split();
    let (mut cbuf, mut ubuf) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let mut dropping = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if faults.generation.load(Ordering::SeqCst) != born {
                    faults.resets.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
            n = cr.read(&mut cbuf) => {
                let Ok(n @ 1..) = n else { return };
                let chunk = &cbuf[..n];
                if !dropping {
                    let mut arm = armed.lock().unwrap();
                    if arm.as_ref().is_some_and(|p| chunk.windows(p.len()).any(|w| w == p.as_slice())) {
                        *arm = None;
                        dropping = true;
                    }
                }
                if uw.write_all(chunk).await.is_err() {
                    return;
                }
            }
            n = ur.read(&mut ubuf) => {
                let Ok(n @ 1..) = n else { return };
                if dropping {
                    // The server answered: it executed the command. Nobody will hear it.
                    tripped.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                let delay = faults.delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                if cw.write_all(&ubuf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
