use super::*;

#[test]
fn sku_keys_share_one_hash_tag() {
    let keys = Keys::new("t1").unwrap();
    let sku = Sku::parse("PS5").unwrap();
    assert_eq!(keys.stock(&sku), "t1:sku:{PS5}");
    assert_eq!(keys.movements(&sku), "t1:sku:{PS5}:history");
    assert_eq!(keys.sku_of_stock_key(&keys.stock(&sku)), Some(sku));
    assert_eq!(keys.sku_of_stock_key("t1:sku:{PS5}:history"), None);
    assert_eq!(keys.sku_of_stock_key("t2:sku:{PS5}"), None);
}

#[test]
fn prefix_is_validated() {
    for bad in ["", "a*", "a{b", "a b", &"p".repeat(65)] {
        assert!(Keys::new(bad).is_err(), "{bad:?}");
    }
    assert!(Keys::new("sw:test-1").is_ok());
}

#[test]
fn idempotency_keys_are_scoped_and_opaque() {
    let keys = Keys::new("sw").unwrap();
    let a = keys.idempotency_claim("purchase", "k:1}*");
    assert!(a.starts_with("sw:idem:") && a.len() == "sw:idem:".len() + 64);
    assert_ne!(a, keys.idempotency_claim("checkout", "k:1}*"));
    let answer = keys.idempotency("purchase", "k:1}*", 42);
    assert_eq!(slot_of(&answer), 42);
    assert!(answer.ends_with(&a["sw:idem:".len()..]));
}

#[test]
fn slots_match_redis() {
    // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
    assert_eq!(slot_of("123456789"), 0x31c3 % SLOTS);
    assert_eq!(slot_of("foo"), 12182);
    assert_eq!(slot_of("{user1000}.following"), slot_of("{user1000}.followers"));
    assert_eq!(
        slot_of("foo{}{bar}"),
        slot_of("foo{}{bar}"),
        "an empty tag hashes the whole key"
    );
    assert_ne!(slot_of("foo{}{bar}"), slot_of("bar"));
    assert_eq!(slot_of("foo{{bar}}zap"), slot_of("{bar"));
}

#[test]
fn every_slot_has_a_tag_that_lands_there() {
    for slot in 0..SLOTS {
        let tag = tag_for(slot);
        assert!(tag.len() <= 4 && tag.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(slot_of(&format!("x:{{{tag}}}:y")), slot);
    }
}

#[test]
fn records_live_in_the_slot_their_id_names() {
    let keys = Keys::new("sw").unwrap();
    let sku = Sku::parse("PS5").unwrap();
    let slot = keys.slot_of_sku(&sku);
    assert_eq!(slot_of(&keys.stock(&sku)), slot);
    assert_eq!(slot_of(&keys.movements(&sku)), slot);
    assert_eq!(slot_of(&keys.order(&OrderId::generate_in(slot))), slot);
    assert_eq!(slot_of(&keys.reservation(&ReservationId::generate_in(slot))), slot);
    assert_eq!(slot_of(&keys.expiry(slot)), slot);
    for key in [
        keys.ledger_feed(slot),
        keys.ledger_dead(slot),
        keys.aging(slot),
        keys.aged(slot),
        keys.retired(slot),
        keys.low_stock(slot),
        keys.low_stock_at(slot, "east-1"),
    ] {
        assert_eq!(slot_of(&key), slot, "{key}");
    }
    // The scripts build a location's index name from the slot's (`low .. ':at:' .. name`).
    assert_eq!(
        keys.low_stock_at(slot, "east-1"),
        format!("{}:at:east-1", keys.low_stock(slot))
    );
}

#[test]
fn record_keys_spell_the_id_as_display_does() {
    // Built from the id's text in a buffer, not `format!`: the spelling must not drift.
    let keys = Keys::new("t1").unwrap();
    let (order, resv) = (OrderId::generate_in(7), ReservationId::generate_in(7));
    let tag = tag_for(7);
    assert_eq!(keys.order(&order), format!("t1:order:{{{tag}}}:{order}"));
    assert_eq!(keys.reservation(&resv), format!("t1:resv:{{{tag}}}:{resv}"));
    assert_eq!(keys.expiry(7), format!("t1:expiry:{{{tag}}}"));
    assert_eq!(keys.order(&order).len(), keys.order(&order).capacity(), "sized exactly");
}
