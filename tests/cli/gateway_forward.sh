#!/usr/bin/env bash
# veil-gateway passing answers on (docs/gateway.md "Routing", forward.c),
# against a plain worker with scripted answers (tests/cli/lib/stream_worker.py):
# a whole answer with only the allowed headers, a slow stream that arrives
# piece by piece, a client that goes away mid-stream (the worker's request
# is cancelled), a worker that breaks off mid-stream or never answers, an
# answer over the cap, an SSE line longer than the metering scan keeps, the
# model of a worker out of routing (503, not 404), and the gateway stopped
# with streams in flight (it exits cleanly; under ASan that includes the
# leak check); and two join refusals.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
export LC_ALL=C
PY="${VEIL_PYTHON:-/usr/bin/python3}"
GW_BIN="${BUILD:-build}/veil-gateway"
[ -x "$GW_BIN" ] || { bad "$GW_BIN is missing: make check-tests"; finish; }
PIDS=()
on_finish() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
}
wait_for() {
	local t="$1"
	shift
	for _ in $(seq 1 $((t * 20))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
curl() { command curl --max-time 20 "$@"; }
chat() { printf '{"model":"chat","messages":[{"role":"user","content":"%s"}]%s}' "$1" "${2:-}"; }
# post MODE [CURL ARGS...]: prints "STATUS TIME_TOTAL"; the body in $TMP/out.MODE.
post() {
	local mode="$1"
	shift
	curl -s -o "$TMP/out.$mode" -D "$TMP/hdr.$mode" -w '%{http_code} %{time_total}' "$@" \
		"$GW/v1/chat/completions" -d "$(chat "$mode" ',"stream":true')"
}
routable() { curl -sf "$GW/healthz" | jq -e '.workers.plain == 1' >/dev/null; }
ev() { grep -c "^$1\$" "$TMP/events" 2>/dev/null; }

"$PY" tests/cli/lib/stream_worker.py --port-file "$TMP/w.port" --events "$TMP/events" &
PIDS+=($!)
wait_for 10 test -s "$TMP/w.port" || { bad "the scripted worker did not start"; finish; }
printf '{"version": 1, "id": "forward-test"}' >"$TMP/policy.json"
start_gateway() {
	rm -f "$TMP/gw.port"
	"$GW_BIN" --log "$TMP/gw.db" --sth-key "$TMP/sth.jwk" --create-sth-key --policy "$TMP/policy.json" \
		--plain-worker "http://127.0.0.1:$(cat "$TMP/w.port")" --health 1 --upstream-timeout 2 \
		--port 0 --port-file "$TMP/gw.port" 2>>"$TMP/gw.log" &
	GWPID=$!
	PIDS+=($GWPID)
	wait_for 10 test -s "$TMP/gw.port" || { bad "the gateway did not start"; cat "$TMP/gw.log"; finish; }
	GW="http://127.0.0.1:$(cat "$TMP/gw.port")"
	wait_for 10 routable || { bad "the scripted worker is not routable"; cat "$TMP/gw.log"; finish; }
}
start_gateway

# A whole answer: its headers filtered, X-Veil-Worker added.
[ "$(post whole | cut -d' ' -f1)" = 200 ] && grep -q '"content": "ok"' "$TMP/out.whole" && ok ||
	bad "a whole answer passes"
grep -qi '^X-Veil-Worker: plain-1' "$TMP/hdr.whole" && grep -qi '^X-Veil-Receipt: not.a.receipt' \
	"$TMP/hdr.whole" && ok || bad "X-Veil-Worker is added and X-Veil-Receipt passes"
grep -qi '^X-Internal' "$TMP/hdr.whole" && bad "a worker's other header passed" || ok

# A slow stream arrives piece by piece, whole, with its [DONE].
t="$(curl -sN -o "$TMP/out.slow" -w '%{time_starttransfer} %{time_total}' "$GW/v1/chat/completions" \
	-d "$(chat slow ',"stream":true')")"
awk -v a="${t% *}" -v b="${t#* }" 'BEGIN { exit !(a < 1 && b >= 3) }' && ok ||
	bad "a slow stream is passed on as it comes (first byte, end: $t)"
[ "$(grep -c '^data: {' "$TMP/out.slow")" = 40 ] && tail -n 2 "$TMP/out.slow" | grep -q '^data: \[DONE\]' &&
	ok || bad "the slow stream arrives whole"

# The client goes away: the worker's request is cancelled (its next write
# fails), and the worker stays routable.
curl -sN -o /dev/null --max-time 0.5 "$GW/v1/chat/completions" -d "$(chat slow ',"stream":true')"
wait_for 10 sh -c "[ \"\$(grep -c '^cancelled slow$' '$TMP/events')\" -ge 1 ]" && ok ||
	bad "a client that goes away cancels the worker's request"
routable && ok || bad "a client going away does not count against the worker"

# An SSE line longer than the metering scan keeps passes whole.
[ "$(post longline | cut -d' ' -f1)" = 200 ] && [ "$(head -c 262150 "$TMP/out.longline" | wc -c)" -ge 262150 ] &&
	tail -n 2 "$TMP/out.longline" | grep -q '^data: \[DONE\]' && ok || bad "a 256 KiB SSE line passes"

# Over the cap: 502, and the worker is out of routing until its health
# check; meanwhile its model is "try again" (503), not unknown (404).
[ "$(post big | cut -d' ' -f1)" = 502 ] && jq -e '.error.code == "worker_answer_too_large"' \
	"$TMP/out.big" >/dev/null && ok || bad "an answer over the cap is 502 worker_answer_too_large"
c="$(post whole | cut -d' ' -f1)"
if [ "$c" = 503 ]; then
	jq -e '.error.code == "no_worker"' "$TMP/out.whole" >/dev/null && grep -qi '^Retry-After:' \
		"$TMP/hdr.whole" && ok || bad "the model of a worker out of routing is 503 no_worker"
elif [ "$c" = 200 ]; then
	ok # the health check came first
else
	bad "the model of a worker out of routing: $c (not 503)"
fi
wait_for 10 routable && ok || bad "the worker is back after its health check"

# A worker that breaks off mid-stream: what came passes, no [DONE].
[ "$(post die | cut -d' ' -f1)" = 200 ] && [ "$(grep '^data: {' "$TMP/out.die" | grep -vc '"error"')" = 5 ] &&
	! grep -q '\[DONE\]' "$TMP/out.die" && ok || bad "a stream broken off mid-way ends without [DONE]"
tail -n 2 "$TMP/out.die" | grep -q '^data: {"error":{.*"code":"worker_failed"' && ok ||
	bad "a stream broken off mid-way ends with an error event (OpenAI clients raise it)"
grep -q '"event":"request.failed".*"started":true' "$TMP/gw.log" && ok ||
	bad "the broken stream is logged as failed"
wait_for 10 routable

# A worker that never answers: 502 at the upstream timeout.
r="$(post hang)"
[ "${r% *}" = 502 ] && jq -e '.error.code == "worker_failed"' "$TMP/out.hang" >/dev/null &&
	awk -v s="${r#* }" 'BEGIN { exit !(s >= 1.5 && s < 10) }' && ok ||
	bad "a worker that never answers is 502 at the timeout ($r)"
wait_for 10 routable

# Confidential requests never reach a plain worker.
n="$(grep -c '^request ' "$TMP/events")"
[ "$(curl -s -o "$TMP/ff" -w '%{http_code}' -H 'X-Veil-Confidential: required' \
	"$GW/v1/chat/completions" -d "$(chat whole)")" = 503 ] &&
	jq -e '.error.type == "confidential_capacity_unavailable"' "$TMP/ff" >/dev/null && ok ||
	bad "a confidential request fails fast without an attested worker"
[ "$(grep -c '^request ' "$TMP/events")" = "$n" ] && ok || bad "the plain worker saw a confidential request"

# Join refusals quote what was sent, cut at a cap: a character cut in two
# still makes a 400 with an OpenAI error (it was a 500 "out of memory").
name="$(printf 'a%.0s' $(seq 63))$(printf '\xc3\xa9\xc3\xa9')"
[ "$(curl -s -o "$TMP/jr" -w '%{http_code}' -XPOST "$GW/v1/workers/join" \
	-d "{\"id\":\"x\",\"url\":\"http://127.0.0.1:1\",\"capacity\":1,\"$name\":1}")" = 400 ] &&
	jq -e '.error.code == "bad_join"' "$TMP/jr" >/dev/null && ok ||
	{ bad "a join refusal quoting a cut character is 400"; cat "$TMP/jr"; }
# "join" names the evidence route: a worker of that id could never leave.
[ "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$GW/v1/workers/join" \
	-d '{"id":"join","url":"http://127.0.0.1:1","capacity":1}')" = 400 ] && ok ||
	bad "the worker id \"join\" is refused"

# Stopped with streams in flight: the gateway ends them and exits 0.
INF=()
for i in 1 2 3; do
	(curl -sN -o "$TMP/inflight$i" "$GW/v1/chat/completions" -d "$(chat slow ',"stream":true')") &
	INF+=($!)
done
wait_for 10 sh -c "[ \"\$(grep -c '^request slow$' '$TMP/events')\" -ge 5 ]"
sleep 0.3
kill "$GWPID"
wait "$GWPID"
rc=$?
[ "$rc" = 0 ] && ok || { bad "the gateway stopped with streams in flight exits $rc"; tail -n 30 "$TMP/gw.log"; }
wait "${INF[@]}"
grep -q '^data: {' "$TMP/inflight1" && ! grep -q '\[DONE\]' "$TMP/inflight1" && ok ||
	bad "a stream cut by the stop has what came and no [DONE]"
finish
