#!/usr/bin/env bash
# veil-kbs durability: resources are written through a running broker's
# admin API in a loop, each acknowledged (HTTP 200) write noted, and the
# broker is killed with SIGKILL mid-stream. Afterwards every acknowledged
# resource must be in the store, intact (store_writer check: quick_check,
# integrity_check, each value the one written), and the broker must start
# again on the same files. Three rounds on one store.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash

KBS_BIN="${BUILD:-build}/veil-kbs"
W="${BUILD:-build}/tests/tools/store_writer"
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
finish() {
	[ -n "${KPID:-}" ] && kill -9 "$KPID" 2>/dev/null
	[ -n "${LPID:-}" ] && kill "$LPID" 2>/dev/null
	echo "kbs_durability: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
[ -x "$KBS_BIN" ] && [ -x "$W" ] || { bad "$KBS_BIN or $W is missing: make check-tests"; finish; }
command -v curl >/dev/null || { bad "curl is needed"; finish; }

DB="$TMP/kbs.db" KEY="$TMP/kbs.key"
start() {
	rm -f "$TMP/port"
	"$KBS_BIN" --db "$DB" --master-key "$KEY" --create-master-key --insecure-admin --port 0 \
		--port-file "$TMP/port" 2>>"$TMP/kbs.log" &
	KPID=$!
	for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
	[ -s "$TMP/port" ] || { bad "veil-kbs did not start"; tail -5 "$TMP/kbs.log"; finish; }
	URL="http://127.0.0.1:$(cat "$TMP/port")"
}

# writer START: puts res/dur/N through the admin API from START on, and
# notes each one the broker acknowledged.
writer() {
	local n="$1"
	while :; do
		"$W" value "$n" >"$TMP/v.$n" || break
		code="$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$TMP/v.$n" \
			"$URL/kbs/v0/resource/res/dur/$n")"
		rm -f "$TMP/v.$n"
		[ "$code" = 200 ] && echo "acked $n" >>"$TMP/acked"
		n=$((n + 1))
	done
}

: >"$TMP/acked"
next=0
for round in 1 2 3; do
	start
	writer "$next" &
	LPID=$!
	# Let some writes be acknowledged, then kill the broker mid-stream.
	for _ in $(seq 1 100); do [ "$(wc -l <"$TMP/acked")" -ge $((round * 15)) ] && break; sleep 0.05; done
	sleep 0.$((RANDOM % 5))
	kill -9 "$KPID"
	wait "$KPID" 2>/dev/null
	KPID=""
	sleep 0.2
	kill "$LPID" 2>/dev/null
	wait "$LPID" 2>/dev/null
	LPID=""
	acked=$(wc -l <"$TMP/acked")
	[ "$acked" -ge $((round * 10)) ] && ok || bad "round $round: only $acked writes acknowledged"
	if "$W" check "$DB" "$KEY" >"$TMP/check" 2>"$TMP/err"; then ok; else
		bad "round $round: the store does not check out after kill -9"
		grep '^bad ' "$TMP/check" | head -5 | sed 's/^/    /'
		sed 's/^/    /' "$TMP/err" | head -3
	fi
	grep -q '^integrity ok$' "$TMP/check" && ok || bad "round $round: integrity_check"
	cut -d' ' -f2 "$TMP/acked" | sort >"$TMP/acked.sorted"
	grep -E '^present [0-9]+$' "$TMP/check" | cut -d' ' -f2 | sort >"$TMP/present"
	missing=$(comm -23 "$TMP/acked.sorted" "$TMP/present" | wc -l)
	[ "$missing" -eq 0 ] && ok ||
		bad "round $round: $missing acknowledged resources lost, e.g. $(comm -23 "$TMP/acked.sorted" "$TMP/present" | head -3 | tr '\n' ' ')"
	next=$(($(sort -n "$TMP/present" | tail -1) + 1))
	# The broker starts again on the same files and serves.
	start
	[ "$(curl -s "$URL/healthz")" = '{"status":"ok"}' ] && ok || bad "round $round: restart"
	kill -TERM "$KPID"
	wait "$KPID"
	[ $? -eq 0 ] && ok || bad "round $round: clean stop after the restart"
	KPID=""
done
finish
