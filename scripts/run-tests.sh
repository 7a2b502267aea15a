#!/usr/bin/env bash
# Runs every unit test binary given as an argument, then the CLI tests in
# tests/cli/*.sh, and prints one closing line "N passed, N failed" with the
# totals. Exits non-zero if anything failed or if no test ran at all.
#
# Test data comes from $VEIL_TESTDATA (default ../shared/testdata).
set -uo pipefail

cd "$(dirname "$0")/.."
export VEIL_TESTDATA="${VEIL_TESTDATA:-../shared/testdata}"
export BUILD="${BUILD:-build}"
if [ ! -d "$VEIL_TESTDATA" ]; then
	echo "run-tests: test data not found at $VEIL_TESTDATA (set VEIL_TESTDATA)" >&2
	exit 1
fi

total_pass=0
total_fail=0
broken=()

run_one() {
	local name="$1"
	shift
	local out rc line
	out="$("$@" 2>&1)"
	rc=$?
	printf '%s\n' "$out" | grep -v ': [0-9]* passed, [0-9]* failed$' || true
	line="$(printf '%s\n' "$out" | grep -E ': [0-9]+ passed, [0-9]+ failed$' | tail -n1)"
	if [ -z "$line" ]; then
		echo "$name: no summary line (exit $rc): crashed?"
		broken+=("$name")
		total_fail=$((total_fail + 1))
		return
	fi
	echo "$line"
	local p f
	p="$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$line")"
	f="$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$line")"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exited $rc although it reported no failure"
		broken+=("$name")
		total_fail=$((total_fail + 1))
	fi
}

for t in "$@"; do
	run_one "$(basename "$t")" "$t"
done
for s in tests/cli/*.sh; do
	[ -e "$s" ] || continue
	run_one "$(basename "$s")" bash "$s"
done

echo
if [ $((total_pass + total_fail)) -eq 0 ]; then
	echo "run-tests: no test ran" >&2
	exit 1
fi
[ ${#broken[@]} -eq 0 ] || echo "broken: ${broken[*]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
