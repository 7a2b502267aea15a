# Shared by the tests/cli/*.sh conformance scripts (sourced, not run): a
# temporary folder, pass/fail counters with `ok`, `bad` and `finish` for the
# checks a script makes itself, `expect`, which runs `veil verify --json` and
# checks its exit code and output, and `expect_run`, which does the same for
# any veil command that prints JSON.
#
#   ok                        count a pass
#   bad WHY                   count a failure and print "FAIL WHY"
#   finish                    print "SCRIPT: N passed, M failed" and exit,
#                             nonzero if anything failed
#   expect NAME EXIT [JQ-FILTER] -- veil verify args...
#   expect_run NAME EXIT [JQ-FILTER] -- veil-subcommand args...
# JQ-FILTER (optional) must evaluate to true on the JSON output.

VEIL="${BUILD:-build}/veil"
TD="${VEIL_TESTDATA:-../shared/testdata}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() {
	echo "FAIL $1"
	fail=$((fail + 1))
}

# A script that started processes defines on_finish to stop them; finish
# runs it first, so that an early finish (a check the rest depends on
# failed) leaves nothing running either.
finish() {
	if declare -F on_finish >/dev/null; then on_finish; fi
	echo "$(basename "$0" .sh): $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

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
