#!/usr/bin/env bash
# Durability of the key broker's store: a writer
# ($BUILD/tests/tools/store_writer) puts resources in a loop and prints
# "acked N" after each put that returned; it is killed with SIGKILL after
# about a second of writes, and the store is opened again. Every
# acknowledged value must be there and intact, the database must pass
# quick_check (at open) and integrity_check, and at most one value that
# was never acknowledged may exist per round (the put that committed just
# before the kill, whose "acked" line was never printed). Three rounds on
# the same database, so each one also writes to a store recovered from a
# crash.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash

W="${BUILD:-build}/tests/tools/store_writer"
DB="$TMP/store.db" KEY="$TMP/master.key"
ROUNDS=3

[ -x "$W" ] && ok || { bad "$W is missing: build it with make BUILD=${BUILD:-build} check-tests"; finish; }
if "$W" init "$DB" "$KEY" 2>"$TMP/err"; then ok; else
	bad "store_writer init"
	sed 's/^/    /' "$TMP/err" | head -5
	finish
fi
[ "$(stat -c %a "$KEY")" = 600 ] && ok || bad "the master key file is mode 600"
[ "$(stat -c %a "$DB")" = 600 ] && ok || bad "the database file is mode 600"

: >"$TMP/acked.all"
for round in $(seq "$ROUNDS"); do
	start=$((round * 1000000))
	out="$TMP/acked.$round"
	: >"$out" # before the background job opens it, for the grep below
	"$W" run "$DB" "$KEY" "$start" >"$out" 2>"$TMP/err" &
	pid=$!
	# Wait for the first acknowledgement (a slow sanitizer build takes a
	# moment to start), then let it write for about a second.
	for _ in $(seq 200); do
		grep -q '^acked ' "$out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	sleep 1
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		ok
	else
		wait "$pid"
		bad "round $round: the writer stopped by itself (exit $?)"
		sed 's/^/    /' "$TMP/err" | head -5
	fi
	# Whole lines only: the kill may land anywhere.
	grep -E '^acked [0-9]+$' "$out" | cut -d' ' -f2 | sort >"$TMP/acked.sorted"
	acked=$(wc -l <"$TMP/acked.sorted")
	[ "$acked" -gt 0 ] && ok || bad "round $round: nothing was acknowledged"
	cat "$TMP/acked.sorted" >>"$TMP/acked.all"
	sort -o "$TMP/acked.all" "$TMP/acked.all"

	if "$W" check "$DB" "$KEY" >"$TMP/check" 2>"$TMP/err"; then ok; else
		bad "round $round: the store does not check out after kill -9"
		grep '^bad ' "$TMP/check" | head -5 | sed 's/^/    /'
		sed 's/^/    /' "$TMP/err" | head -5
	fi
	grep -q '^integrity ok$' "$TMP/check" && ok || bad "round $round: integrity_check"
	grep -E '^present [0-9]+$' "$TMP/check" | cut -d' ' -f2 | sort >"$TMP/present"

	# Every acknowledged write, of every round so far, is there.
	missing=$(comm -23 "$TMP/acked.all" "$TMP/present" | wc -l)
	if [ "$missing" -eq 0 ]; then ok; else
		bad "round $round: $missing acknowledged values lost, e.g. $(comm -23 "$TMP/acked.all" "$TMP/present" | head -3 | tr '\n' ' ')"
	fi
	# At most one unacknowledged value in this round's range, and it is
	# the one after the last acknowledged.
	comm -13 "$TMP/acked.all" "$TMP/present" |
		awk -v lo="$start" -v hi="$((start + 1000000))" '$1 >= lo && $1 < hi' >"$TMP/extra"
	extra=$(wc -l <"$TMP/extra")
	last=$(sort -n "$TMP/acked.sorted" | tail -n1)
	if [ "$extra" -eq 0 ] || { [ "$extra" -eq 1 ] && [ "$(cat "$TMP/extra")" -eq $((last + 1)) ]; }; then
		ok
	else
		bad "round $round: $extra values present that were never acknowledged: $(head -3 "$TMP/extra" | tr '\n' ' ')"
	fi
	echo "    round $round: $acked acknowledged, $extra unacknowledged but stored"
done
finish
