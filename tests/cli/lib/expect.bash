# Shared by the tests/cli/*.sh conformance scripts (sourced, not run): a
# temporary folder, pass/fail counters, `expect`, which runs
# `veil verify --json` and checks its exit code and output, and `expect_run`,
# which does the same for any veil command that prints JSON.
#
#   expect NAME EXIT [JQ-FILTER] -- veil verify args...
#   expect_run NAME EXIT [JQ-FILTER] -- veil-subcommand args...
# JQ-FILTER (optional) must evaluate to true on the JSON output.

VEIL="${BUILD:-build}/veil"
TD="${VEIL_TESTDATA:-../shared/testdata}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

expect() {
	local name="$1" want="$2"
	shift 2
	if [ "$1" = "--" ]; then
		shift
		expect_run "$name" "$want" -- verify --json "$@"
	else
		local filter="$1"
		shift 2
		expect_run "$name" "$want" "$filter" -- verify --json "$@"
	fi
}

expect_run() {
	local name="$1" want="$2" filter="true"
	shift 2
	if [ "$1" != "--" ]; then
		filter="$1"
		shift
	fi
	shift # --
	local out rc
	out="$("$VEIL" "$@" 2>"$TMP/stderr")"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, want $want"
		sed 's/^/    /' "$TMP/stderr" | head -5
		fail=$((fail + 1))
		return
	fi
	if ! jq -e "$filter" >/dev/null 2>&1 <<<"$out"; then
		echo "FAIL $name: JSON does not satisfy: $filter"
		jq -c '{verified, error, status: ."veil.status", failed: [.checks[]? | select(.ok|not) | {name, detail}]}' <<<"$out" 2>/dev/null | head -c 600
		echo
		fail=$((fail + 1))
		return
	fi
	pass=$((pass + 1))
}
