#!/usr/bin/env bash
# The README's main command, scripts/demo.sh, as CI runs it (--no-setup,
# with this build's binaries): it must exit 0, its closing table must list
# every step ok (and the steps that matter by name), and no process it
# started may be left running. Its temporary folder is made under this
# script's, so the processes it started can be told from anyone else's.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
export LC_ALL=C

mkdir -p "$TMP/demo"
TMPDIR="$TMP/demo" timeout 300 bash scripts/demo.sh --no-setup >"$TMP/out" 2>&1
rc=$?
[ "$rc" = 0 ] && ok || { bad "scripts/demo.sh exited $rc"; grep -E 'FAIL|^demo:' "$TMP/out" | head -20; }
# The table: the lines after "== What was proven", up to the blank line.
sed -n '/^== What was proven/,/^$/p' "$TMP/out" | sed '1d;/^$/d' >"$TMP/table"
n="$(wc -l <"$TMP/table")"
[ "$n" -ge 12 ] && ok || bad "the summary lists $n steps, want at least 12"
grep -qv '^   ok  ' "$TMP/table" && { bad "a step is not ok:"; grep -v '^   ok  ' "$TMP/table"; } || ok
tail -n 1 "$TMP/out" | grep -qx "demo: all $n steps ok" && ok || bad "the last line: $(tail -n 1 "$TMP/out")"
for what in 'sealed' 'admitted' 'veil chat: evidence verified' 'offline' 'veil proxy' 'veil audit' \
	'refuses the model key' 'refuses to admit' 'exit 3' '503' 'stopped'; do
	grep -q "^   ok  .*$what" "$TMP/table" && ok || bad "no step ok for '$what'"
done
grep -q 'did not stop at SIGTERM' "$TMP/out" && bad "a process had to be killed: $(grep 'did not stop' "$TMP/out")" || ok
# Nothing it started is still running: every daemon and veil command it
# ran had a file of its folder on its command line.
left="$(ps -eo pid=,args= | grep -F "$TMP/demo/" | grep -v grep)"
[ -z "$left" ] && ok || { bad "processes left running:"; echo "$left" | cut -c1-200; }
# Stopped halfway (SIGTERM once the broker runs and the gateway starts),
# it still stops everything it started (the traps of deploy.bash). (A
# background job ignores SIGINT, so SIGTERM stands for Ctrl-C here.)
mkdir -p "$TMP/demo2"
TMPDIR="$TMP/demo2" bash scripts/demo.sh --no-setup >"$TMP/out2" 2>&1 &
pid=$!
for _ in $(seq 1 1500); do
	grep -q '^== 2\.' "$TMP/out2" && break
	sleep 0.02
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
[ "$rc" != 0 ] && ! grep -q '^== What was proven' "$TMP/out2" && ok ||
	bad "the demo was not stopped halfway (exit $rc)"
left="$(ps -eo pid=,args= | grep -F "$TMP/demo2/" | grep -v grep)"
[ -z "$left" ] && ok || { bad "processes left running after SIGTERM:"; echo "$left" | cut -c1-200; }
finish
