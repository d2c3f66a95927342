//! A real local HTTP receiver for what the server sends out: webhooks, and OTLP traces.

use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request a receiver got: its headers (lowercased names) and raw body.
pub type Delivery = (Vec<(String, String)>, Vec<u8>);

/// A real local HTTP receiver: records each request (headers and raw body) and answers
/// with the status its script says, one per request (the last repeats).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Delivery>>>,
    pub script: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    pub async fn start(script: Vec<u16>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hooks", listener.local_addr().unwrap().port());
        let me = Self {
            url,
            seen: Arc::default(),
            script: Arc::new(Mutex::new(script)),
        };
        let served = me.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let served = served.clone();
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 4096];
                    let (head, length) = loop {
                        let n = socket.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&raw[..end]).to_string();
                            let length = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            raw.drain(..end + 4);
                            break (head, length);
                        }
                    };
                    while raw.len() < length {
                        let n = socket.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                    }
                    let headers = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    served.seen.lock().unwrap().push((headers, raw));
                    let status = {
                        let mut script = served.script.lock().unwrap();
                        if script.len() > 1 { script.remove(0) } else { script[0] }
                    };
                    let extra = if status == 302 {
                        "Location: http://169.254.169.254/latest/meta-data/\r\n"
                    } else {
                        ""
                    };
                    let reply = format!("HTTP/1.1 {status} X\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n");
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        me
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }

    pub async fn wait_for(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.seen.lock().unwrap().len() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} deliveries, wanted {n}",
                self.seen.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
