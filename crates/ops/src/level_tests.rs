//! `level.rs`'s unit tests: decoding and drawing.

use super::*;

fn level(fields: &[(&str, &str)]) -> Level {
    let map: HashMap<String, String> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Level::parse(&Sku::parse("s").unwrap(), &map).unwrap().unwrap()
}

fn loc(name: &str) -> Location {
    Location::parse(name, "l").unwrap()
}

fn alloc(pairs: &[(&str, i64)]) -> Vec<Allocation> {
    Allocation::list(pairs)
}

#[test]
fn a_sku_without_locations_is_all_default() {
    let l = level(&[("available", "5"), ("reserved", "1"), ("sold", "2"), ("received", "8")]);
    assert_eq!(l.places.len(), 1);
    assert_eq!(l.places[0].counts, l.totals);
    assert_eq!(l.draw(5, None), Draw::Drawn(Allocation::all_default(5)));
    assert_eq!(l.draw(6, None), Draw::Short(5));
    assert_eq!(
        l.draw(1, Some(&loc("default"))),
        Draw::Drawn(Allocation::all_default(1))
    );
    assert_eq!(l.draw(1, Some(&loc("east"))), Draw::UnknownLocation);
}

#[test]
fn default_holds_what_the_named_locations_do_not() {
    let l = level(&[
        ("available", "10"),
        ("sold", "3"),
        ("received", "13"),
        ("locs", "east,default,west"),
        ("priority@east", "1"),
        ("priority@default", "2"),
        ("priority@west", "3"),
        ("available@east", "4"),
        ("received@east", "4"),
        ("available@west", "2"),
        ("sold@west", "3"),
        ("received@west", "5"),
    ]);
    let default = l.place("default").unwrap();
    assert_eq!(default.counts.available, 4);
    assert_eq!(default.counts.sold, 0);
    assert_eq!(default.counts.received, 4);
    assert_eq!(l.to_stock(&Sku::parse("s").unwrap()).locations.len(), 3);
}

#[test]
fn lines_are_drawn_by_priority_and_split_when_one_runs_short() {
    let mut l = level(&[
        ("available", "9"),
        ("locs", "default,east,west"),
        ("available@east", "3"),
        ("available@west", "6"),
    ]);
    assert_eq!(
        l.draw(2, None),
        Draw::Drawn(alloc(&[("east", 2)])),
        "default is empty, east is next"
    );
    assert_eq!(l.draw(5, None), Draw::Drawn(alloc(&[("east", 3), ("west", 2)])));
    assert_eq!(l.draw(10, None), Draw::Short(9));
    assert_eq!(l.draw(4, Some(&loc("east"))), Draw::Short(3));
    assert_eq!(l.draw(4, Some(&loc("west"))), Draw::Drawn(alloc(&[("west", 4)])));
    l.withdraw(&alloc(&[("east", 3), ("west", 2)]));
    assert_eq!(l.totals.available, 4);
    assert_eq!(l.draw(4, None), Draw::Drawn(alloc(&[("west", 4)])));
}
