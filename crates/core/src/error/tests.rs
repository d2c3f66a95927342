use super::*;

#[test]
fn every_variant_has_the_contract_shape() {
    let sku = Sku::parse("a").unwrap();
    let cases = [
        (Error::unknown_sku(&sku), 404, "unknown_sku"),
        (
            Error::Contention {
                attempts: 3,
                throttled: false,
            },
            503,
            "contention",
        ),
        (Error::Store(StoreError::Timeout), 503, "redis_unavailable"),
        (Error::BrokenDisabled, 403, "broken_disabled"),
        (Error::IdempotencyKeyReused, 422, "idempotency_key_reused"),
        (
            Error::SkuInUse {
                sku: sku.clone(),
                reserved: 2,
                preordered: 0,
            },
            409,
            "sku_in_use",
        ),
    ];
    for (err, status, code) in cases {
        assert_eq!(err.status().as_u16(), status);
        let body = err.body();
        assert_eq!(body["error"], code);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let short = Error::InsufficientStock {
        items: vec![Shortage {
            sku,
            available: 1,
            requested: 2,
        }],
        attempts: 4,
    };
    assert_eq!(short.body()["attempts"], 4);
    assert_eq!(short.body()["available"], 1);
    assert_eq!(short.body()["items"][0]["requested"], 2);
    assert!(
        short.body()["message"]
            .as_str()
            .unwrap()
            .contains("a: 1 available, 2 requested")
    );
}
