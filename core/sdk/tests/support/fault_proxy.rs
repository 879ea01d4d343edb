//! A fault-injecting TCP proxy for the sync tests: sits between the SDK and the server on loopback and, per
//! connection, randomly (seeded, reproducible per connection index) cuts the connection after a byte budget — in the
//! middle of whatever frame or HTTP message is passing — and delays chunks. `heal()` stops injecting faults for the
//! final checks. Bounded: every connection ends when a side closes or its budget runs out; the proxy stops when
//! dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What to inject. Probabilities are in [0, 1].
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    pub seed: u64,
    /// Chance that a connection gets a byte budget (after which it is cut mid-stream).
    pub cut_probability: f64,
    /// The budget range, in bytes (both directions together).
    pub cut_after_bytes: (u64, u64),
    /// Chance that a chunk is held back before it is forwarded, and for how long at most.
    pub delay_probability: f64,
    pub max_delay: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 7,
            cut_probability: 0.6,
            cut_after_bytes: (1_000, 30_000),
            delay_probability: 0.05,
            max_delay: Duration::from_millis(30),
        }
    }
}

/// Counters for the test's report (and to prove faults happened).
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub cuts: AtomicU64,
    pub delays: AtomicU64,
    pub bytes: AtomicU64,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    healthy: Arc<AtomicBool>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1:0 and forwards to `upstream` (`127.0.0.1:PORT`).
    pub async fn start(upstream: SocketAddr, faults: Faults) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let stats = Arc::new(Stats::default());
        let healthy = Arc::new(AtomicBool::new(false));
        let (st, h) = (stats.clone(), healthy.clone());
        let accept = tokio::spawn(async move {
            let mut index = 0u64;
            while let Ok((client, _)) = listener.accept().await {
                index += 1;
                st.connections.fetch_add(1, Ordering::Relaxed);
                let mut rng = SplitMix(faults.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let budget = (!h.load(Ordering::Relaxed) && rng.unit() < faults.cut_probability).then(|| {
                    faults.cut_after_bytes.0 + rng.next() % (faults.cut_after_bytes.1 - faults.cut_after_bytes.0).max(1)
                });
                tokio::spawn(serve(client, upstream, budget, faults, rng, st.clone(), h.clone()));
            }
        });
        FaultProxy { addr, stats, healthy, accept }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops injecting faults into new connections and chunks (connections already budgeted still get cut).
    pub fn heal(&self) {
        self.healthy.store(true, Ordering::Relaxed);
    }

    pub fn summary(&self) -> String {
        format!(
            "{} connections, {} cut mid-stream, {} chunks delayed, {} bytes",
            self.stats.connections.load(Ordering::Relaxed),
            self.stats.cuts.load(Ordering::Relaxed),
            self.stats.delays.load(Ordering::Relaxed),
            self.stats.bytes.load(Ordering::Relaxed)
        )
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    budget: Option<u64>,
    faults: Faults,
    rng: SplitMix,
    stats: Arc<Stats>,
    healthy: Arc<AtomicBool>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let shared =
        Arc::new(Conn { used: AtomicU64::new(0), budget, cut: watch::Sender::new(false), faults, stats, healthy });
    let up = tokio::spawn(pump(cr, sw, shared.clone(), SplitMix(rng.0 ^ 1)));
    let down = tokio::spawn(pump(sr, cw, shared, SplitMix(rng.0 ^ 2)));
    let _ = tokio::join!(up, down);
}

struct Conn {
    used: AtomicU64,
    budget: Option<u64>,
    /// Set when the budget ran out: both directions stop (the sockets close when both pumps are gone).
    cut: watch::Sender<bool>,
    faults: Faults,
    stats: Arc<Stats>,
    healthy: Arc<AtomicBool>,
}

/// Copies one direction until EOF, an error, or the connection's budget runs out (then cuts both directions).
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, conn: Arc<Conn>, mut rng: SplitMix) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut cut = conn.cut.subscribe();
    loop {
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = cut.wait_for(|c| *c) => return,
        };
        if !conn.healthy.load(Ordering::Relaxed) && rng.unit() < conn.faults.delay_probability {
            conn.stats.delays.fetch_add(1, Ordering::Relaxed);
            let ms = conn.faults.max_delay.as_millis() as u64;
            tokio::time::sleep(Duration::from_millis(rng.next() % ms.max(1))).await;
        }
        let before = conn.used.fetch_add(n as u64, Ordering::SeqCst);
        conn.stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
        let allowed = match conn.budget {
            Some(b) if before + n as u64 > b => b.saturating_sub(before) as usize,
            _ => n,
        };
        if to.write_all(&buf[..allowed]).await.is_err() {
            break;
        }
        if allowed < n {
            conn.stats.cuts.fetch_add(1, Ordering::Relaxed);
            conn.cut.send_replace(true);
            return;
        }
    }
    // EOF on this side: pass it on, let the other direction finish by itself.
    let _ = to.shutdown().await;
}

/// A small seeded generator (SplitMix64): reproducible faults without a dependency.
#[derive(Debug, Clone, Copy)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
