#!/usr/bin/env bash
# Regenerates the pictures the README shows, from real runs on this machine:
#   docs/race.svg       `stockwatch demo race --plot` (500 buyers, 100 units, textbook watch)
#   docs/dashboard.png  the dashboard after its browser test's rushes
#   docs/replay.png     the replay panel at the end of the watch replay
# Needs what scripts/test.sh installs (redis-server, chromium, chromedriver).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-packages.sh redis-server:redis-server chromium:chromium chromedriver:chromium-driver
cargo run --release --quiet -- demo race --plot docs/race.svg
RUST_LOG=warn cargo test --quiet --test api -- --exact \
  dashboard::the_dashboard_shows_broken_overselling_and_watch_stopping_at_zero \
  dashboard::the_replay_panel_steps_through_the_lost_update
cp target/dashboard.png docs/dashboard.png
cp target/replay.png docs/replay.png
echo "wrote docs/race.svg, docs/dashboard.png and docs/replay.png"
