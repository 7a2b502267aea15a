#!/usr/bin/env bash
# Runs every libFuzzer target for a short, bounded time (FUZZ_SECONDS, default
# 30), seeded from the shared test data (fuzz/<target>.seeds lists files
# relative to $VEIL_TESTDATA), from fuzz/seeds/<target>/ (project seeds;
# fuzz/corpus/ is git-ignored) and from fuzz/regressions/<target>/, which
# holds inputs that once crashed and is replayed first as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD="${FUZZ_BUILD:-build-fuzz}"
SECONDS_EACH="${FUZZ_SECONDS:-30}"
TD="${VEIL_TESTDATA:-../shared/testdata}"

make -s -j"${FUZZ_JOBS:-2}" FUZZ_BUILD="$FUZZ_BUILD" fuzz
for bin in "$FUZZ_BUILD"/fuzz_*; do
	name="$(basename "$bin")"
	corpus="$FUZZ_BUILD/corpus/$name"
	rm -rf "$corpus" && mkdir -p "$corpus"
	if [ -f "fuzz/$name.seeds" ]; then
		while IFS= read -r rel; do
			case "$rel" in '' | '#'*) continue ;; esac
			cp "$TD/$rel" "$corpus/$(echo "$rel" | tr '/' '_')"
		done <"fuzz/$name.seeds"
	fi
	# Project seeds (e.g. the example policies) kept beside the target.
	if [ -d "fuzz/seeds/$name" ]; then
		cp "fuzz/seeds/$name"/* "$corpus/"
	fi
	if [ -d "fuzz/regressions/$name" ]; then
		# Replay known crashers on their own first: a plain pass/fail.
		"$bin" -runs=0 "fuzz/regressions/$name"/* >"$FUZZ_BUILD/$name.replay.log" 2>&1 ||
			{ cat "$FUZZ_BUILD/$name.replay.log"; echo "fuzz: $name regression replay failed"; exit 1; }
		cp "fuzz/regressions/$name"/* "$corpus/"
	fi
	echo "fuzz: $name for ${SECONDS_EACH}s on $(ls "$corpus" | wc -l) seeds"
	if ! "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 \
		-artifact_prefix="$FUZZ_BUILD/$name-" "$corpus" >"$FUZZ_BUILD/$name.log" 2>&1; then
		tail -n 40 "$FUZZ_BUILD/$name.log"
		echo "fuzz: $name found a problem; the input is in $FUZZ_BUILD/$name-*"
		exit 1
	fi
	grep -E '^(#[0-9]+).*DONE' "$FUZZ_BUILD/$name.log" | tail -n1 || true
done
