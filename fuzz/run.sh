#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and fails when any of them crashes.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
# Needs the nightly toolchain; installs cargo-fuzz when missing. Seeds come from the repo's
# fixtures (tests/fixtures, config/), the shared fixtures beside the repo when present, and
# fuzz/seeds/; what the fuzzer learns stays in fuzz/corpus/ (not committed). Crashes are kept in
# fuzz/artifacts/TARGET/ and reproduce with `cargo +nightly fuzz run TARGET FILE`.
# Not part of .ci/run: it takes minutes.
set -uo pipefail
cd "$(dirname "$0")"
FUZZ=$(pwd)
ROOT=$(cd .. && pwd)
SHARED=$(cd "$ROOT/.." && pwd)/shared/fixtures
SECONDS_EACH=${1:-60}
shift || true
# No sanitizer by default: the code is safe Rust, so panics, overflows and runaway memory or
# time are what there is to find, and without ASan every target runs several times faster.
SANITIZER=${FUZZ_SANITIZER:-none}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzzing needs the nightly toolchain (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz || exit 2
fi

TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cargo +nightly fuzz list)
fi

# Seeds per target, gathered afresh each run into target/seeds/ (links, not copies).
seed() { # seed TARGET FILE...
  local dir="$FUZZ/target/seeds/$1"
  shift
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] && ln -sf "$f" "$dir/$(printf '%s' "$f" | md5sum | cut -c1-16)"
  done
}
rm -rf "$FUZZ/target/seeds"
shopt -s nullglob globstar
seed feed "$ROOT"/tests/fixtures/feeds/* "$SHARED"/feeds/* "$SHARED"/feedparser/**/*.xml
seed transcript_json "$ROOT"/tests/fixtures/transcripts/*.json "$SHARED"/transcripts/*.json
seed transcript_vtt "$ROOT"/tests/fixtures/transcripts/*.vtt "$SHARED"/transcripts/*.vtt
seed transcript_srt "$ROOT"/tests/fixtures/transcripts/*.srt "$SHARED"/transcripts/*.srt
seed transcript_html "$SHARED"/transcripts/*.html
CHANGELOG=("$SHARED"/changelog/**/*.md)
seed transcript_text "$ROOT"/tests/fixtures/changelog/*.md "${CHANGELOG[@]:0:40}"
seed config "$ROOT"/config/**/*.toml
seed telegram_update "$ROOT"/tests/fixtures/platform/telegram_* "$SHARED"/platform/telegram_*
seed discord_interaction "$SHARED"/platform/discord_*
seed slack_payloads "$SHARED"/platform/slack_*
seed llm_answers "$ROOT"/tests/fixtures/qa_extra.json

# Built once, then each binary run directly: `cargo fuzz run` would check the build again for
# every target. FUZZ_SKIP_BUILD=1 runs what was built last.
if [ -z "${FUZZ_SKIP_BUILD:-}" ] && ! cargo +nightly fuzz build -s "$SANITIZER"; then
  echo "the fuzz targets do not build" >&2
  exit 2
fi
BIN="$FUZZ/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

failed=()
summary=()
mkdir -p "$FUZZ/target/logs"
for t in "${TARGETS[@]}"; do
  mkdir -p "$FUZZ/corpus/$t" "$FUZZ/target/seeds/$t"
  dirs=("$FUZZ/corpus/$t" "$FUZZ/target/seeds/$t")
  [ -d "$FUZZ/seeds/$t" ] && dirs+=("$FUZZ/seeds/$t")
  log="$FUZZ/target/logs/$t.log"
  echo "== $t: ${SECONDS_EACH}s"
  # Inputs up to 256 KiB; one that takes 10 s or 2 GiB counts as a crash, as it would be an
  # ingest or a handler that hangs.
  mkdir -p "$FUZZ/artifacts/$t"
  "$BIN/$t" -artifact_prefix="$FUZZ/artifacts/$t/" -max_total_time="$SECONDS_EACH" -max_len=262144 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dirs[@]}" >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    summary+=("$(printf '%-22s %12s execs  CRASH (see %s)' "$t" "${execs:-?}" "$log")")
    grep -m3 -E 'panicked|ERROR: libFuzzer|Test unit written' "$log" | sed 's/^/   /'
  else
    summary+=("$(printf '%-22s %12s execs  ok' "$t" "${execs:-?}")")
  fi
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]}" >&2
  exit 1
fi
