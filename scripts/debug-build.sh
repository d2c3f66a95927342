#!/usr/bin/env bash
# Builds target/debug/stockwatch and the examples the way `cargo test --all-targets` does.
# Asking for the examples brings the dev-dependencies into feature resolution, as a test
# build does; `cargo build --bin stockwatch` alone resolves some shared crates' features
# differently and rebuilds about sixty of them beside the suite's (a minute and a gigabyte
# in CI). The scripts that run the debug binary call this instead of `cargo build`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --bin stockwatch --examples
