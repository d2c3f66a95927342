//! A webhook receiver to try stockwatch's alerts locally: checks each delivery's
//! `X-Stockwatch-Signature` (HMAC-SHA256 of the raw body with the shared secret, compared in
//! constant time), drops repeats by `id` (deliveries are at least once), and prints the
//! alert.
//!
//! ```sh
//! WEBHOOK_SECRET=whsec_0123456789abcdef cargo run --example webhook_receiver -- 127.0.0.1:9000
//! ```
//! or `scripts/webhook-receiver.sh`. Start the service with
//! `--webhook-allow-hosts 127.0.0.1` and register `http://127.0.0.1:9000/hooks`.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashSet;
use std::sync::Mutex;

struct Receiver {
    secret: String,
    seen: Mutex<HashSet<String>>,
}

async fn hook(req: HttpRequest, body: web::Bytes, me: web::Data<Receiver>) -> HttpResponse {
    let signature = req
        .headers()
        .get("X-Stockwatch-Signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|hex_sig| hex::decode(hex_sig).ok());
    let mut mac = Hmac::<Sha256>::new_from_slice(me.secret.as_bytes()).expect("any key length");
    mac.update(&body);
    if signature.is_none_or(|sig| mac.verify_slice(&sig).is_err()) {
        eprintln!("refused a delivery with a bad signature");
        return HttpResponse::Unauthorized().finish();
    }
    let alert: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return HttpResponse::BadRequest().finish(),
    };
    let id = alert["id"].as_str().unwrap_or_default().to_owned();
    if !me.seen.lock().expect("not poisoned").insert(id.clone()) {
        println!("repeat of {id}: already handled");
    } else {
        println!("{alert}");
    }
    HttpResponse::Ok().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9000".into());
    let secret = std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| "whsec_0123456789abcdef".into());
    let state = web::Data::new(Receiver {
        secret,
        seen: Mutex::default(),
    });
    println!("listening on http://{bind}/hooks");
    HttpServer::new(move || App::new().app_data(state.clone()).route("/hooks", web::post().to(hook)))
        .workers(1)
        .bind(&bind)?
        .run()
        .await
}
