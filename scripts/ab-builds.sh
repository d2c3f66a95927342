# Sourced by the A/B scripts (http-ab.sh, library-ab.sh): builds each revision given, and the
# working tree, in release, and sets `builds` to their names (short hashes, then
# `worktree`); each binary is target/ab/stockwatch-<name>. A revision builds in a worktree
# under target/ab that shares this target dir, so only stockwatch itself is rebuilt, and its
# binary is kept for the next run. A path to a built `stockwatch` binary stands for itself,
# named after its target dir (`target/thin/release/stockwatch` is `thin`): a build with other
# compiler settings than the working tree's.
build_revs() {
  mkdir -p target/ab
  local root_target
  root_target="$(pwd)/target"
  builds=()
  local rev sha name
  for rev in "$@"; do
    if [ -f "$rev" ] && [ -x "$rev" ]; then
      name=$(sed 's|/release/stockwatch$||; s|.*/||' <<<"$rev")
      [ "$name" != worktree ] || { echo "a built binary cannot be named worktree: $rev" >&2; exit 2; }
      cp "$rev" "target/ab/stockwatch-$name"
      builds+=("$name")
      continue
    fi
    sha=$(git rev-parse --short "$rev")
    if [ ! -x "target/ab/stockwatch-$sha" ]; then
      rm -rf "target/ab/src-$sha"
      git worktree add -f --detach "target/ab/src-$sha" "$sha" >/dev/null
      # An absolute target dir: a build script's OUT_DIR must not run through the worktree,
      # which is removed below (utoipa-swagger-ui embeds files by that path).
      (cd "target/ab/src-$sha" && CARGO_TARGET_DIR="$root_target" cargo build -q --release --bin stockwatch)
      cp target/release/stockwatch "target/ab/stockwatch-$sha"
      git worktree remove --force "target/ab/src-$sha"
    fi
    builds+=("$sha")
  done
  cargo build -q --release --bin stockwatch
  cp target/release/stockwatch target/ab/stockwatch-worktree
  builds+=(worktree)
}
