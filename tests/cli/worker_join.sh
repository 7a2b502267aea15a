#!/usr/bin/env bash
# veil-worker joining a gateway (docs/worker.md "Joining a gateway"),
# against tests/cli/lib/fake_gateway.py, which speaks the gateway's side of
# the protocol and checks what the worker sends (the bundle answers its
# nonce, the lease comes back as the bearer token). One worker joins
# through a 503 (backoff) and an expired challenge (at once from the
# start), polls with its lease, joins again when the gateway forgets it,
# and leaves at SIGTERM; another is refused (403), logs the gateway's
# message cut and without control characters, and does not ask again
# within 5 s; a third takes no challenge that is not hex (it would go into
# a URL), no lease that is not hex (it would go into a header) and no
# admission of another worker, and joins when the answers are right. Bad
# gateway options are refused at start with exit 2.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
export LC_ALL=C
PY="${VEIL_PYTHON:-/usr/bin/python3}"
WORKER_BIN="${BUILD:-build}/veil-worker"
[ -x "$WORKER_BIN" ] || { bad "$WORKER_BIN is missing: make check-tests"; finish; }
"$PY" -c 'import numpy' 2>/dev/null || { bad "$PY cannot import numpy (scripts/setup.sh)"; finish; }
PIDS=()
on_finish() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
}

# wait_for SECONDS COMMAND...: until the command succeeds; 1 if it never did.
wait_for() {
	local t="$1"
	shift
	for _ in $(seq 1 $((t * 20))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
# events FILE EVENT [JQ-FILTER]: how many lines of FILE are EVENT (and match).
events() {
	[ -f "$1" ] || { echo 0; return; }
	jq -c --arg e "$2" "select(.event == \$e) | select(${3:-true})" "$1" | wc -l
}
has_event() { [ "$(events "$@")" -ge 1 ]; }
# log_has FILE JQ-FILTER: a JSON log line of the worker matches.
log_has() { grep '^{' "$1" | jq -se "map(select($2)) | length > 0" >/dev/null 2>&1; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# gateway NAME ARGS...: a fake gateway; sets GW_NAME, its events in $TMP/NAME/events.
gateway() {
	local name="$1"
	shift
	mkdir -p "$TMP/$name"
	"$PY" tests/cli/lib/fake_gateway.py --port-file "$TMP/$name/port" --events "$TMP/$name/events" \
		"$@" 2>"$TMP/$name/log" &
	PIDS+=($!)
	wait_for 10 test -s "$TMP/$name/port" || { bad "the fake gateway $name did not start"; finish; }
	eval "GW_$name=http://127.0.0.1:$(cat "$TMP/$name/port")"
}
# worker NAME PORT ARGS...: a worker on PORT; its pid in WPID_NAME.
worker() {
	local name="$1" port="$2"
	shift 2
	"$WORKER_BIN" --port "$port" --model "$TMP/chat.sealed" --key-file "$TMP/chat.key" \
		--tee sim --sim "$S" --parallel 1 "$@" 2>"$TMP/$name.log" &
	PIDS+=($!)
	eval "WPID_$name=$!"
}
# refused WHY-REGEX ARGS...: bad gateway options, exit 2 with a message.
refused() {
	local why="$1"
	shift
	"$WORKER_BIN" --port 0 --model "$TMP/chat.sealed" --key-file "$TMP/chat.key" --tee sim \
		--sim "$S" "$@" 2>"$TMP/refused.log"
	local rc=$?
	[ "$rc" = 2 ] && grep -Eq -- "$why" "$TMP/refused.log" && ok || {
		bad "$*: exit $rc, want 2 and /$why/"
		sed 's/^/    /' "$TMP/refused.log" | tail -2
	}
}

"$PY" tests/models/gen_gguf.py --out "$TMP/chat.gguf" --arch qwen2 --vocab gpt2 --template chatml \
	--type Q8_0 --seed 4 --ctx 256 || { bad "generating the model"; finish; }
"$VEIL" seal --in "$TMP/chat.gguf" --out "$TMP/chat.sealed" --key-out "$TMP/chat.key" \
	--resource default/model/chat >/dev/null 2>&1 && ok || { bad "veil seal"; finish; }
S="$TMP/sim"
"$VEIL" sim init "$S" >/dev/null 2>&1 && ok || { bad "sim init"; finish; }

# ---- bad options ----
refused "needs --advertise" --gateway http://127.0.0.1:9
refused "go with --gateway" --advertise http://127.0.0.1:9
refused "no path" --gateway http://127.0.0.1:9 --advertise http://127.0.0.1:8090/v1
refused "no user information" --gateway http://127.0.0.1:9 --advertise http://u@127.0.0.1:8090
refused "--advertise must be" --gateway http://127.0.0.1:9 --advertise ftp://127.0.0.1:8090
refused "--advertise must be" --gateway http://127.0.0.1:9 --advertise http://127.0.0.1:99999
refused "--gateway must be" --gateway gw.example:8080 --advertise http://127.0.0.1:8090

# ---- a worker that joins, is forgotten, joins again, and leaves ----
gateway a --reattest 5 --fail-first-join --expire-first-answer
gateway b --reattest 5 --refuse
gateway c --reattest 5 --hostile
PA="$(free_port)"
PB="$(free_port)"
PC="$(free_port)"
worker one "$PA" --id wk-join-1 --gateway "$GW_a/" --advertise "http://127.0.0.1:$PA"
worker two "$PB" --id wk-join-2 --gateway "$GW_b" --advertise "http://127.0.0.1:$PB"
worker three "$PC" --id wk-join-3 --gateway "$GW_c" --advertise "http://127.0.0.1:$PC"
EA="$TMP/a/events"
EB="$TMP/b/events"
EC="$TMP/c/events"

wait_for 15 has_event "$EA" admitted && ok || {
	bad "the worker was not admitted"
	tail -n 5 "$TMP/one.log" | sed 's/^/    /'
	cat "$EA" 2>/dev/null | sed 's/^/    /'
	finish
}
wait_for 15 has_event "$EB" refused && ok || bad "the second worker was not refused"
T_REFUSED=$SECONDS
[ "$(events "$EA" bad_bundle)" = 0 ] && ok || bad "the fake gateway refused a bundle: $(grep bad_bundle "$EA")"
has_event "$EA" join '.id == "wk-join-1" and .url == "http://127.0.0.1:'"$PA"'" and .capacity == 1 and
	.ctype == "application/json"' && ok || bad "the join names the worker, its URL and capacity: $(head -n 1 "$EA")"
log_has "$TMP/one.log" '.event == "gateway.join" and .outcome == "error" and .status == 503 and .retry_in > 0' &&
	ok || bad "a 503 is logged and retried with backoff"
log_has "$TMP/one.log" '.event == "gateway.join" and .outcome == "expired"' && ok ||
	bad "an expired challenge is logged"
[ "$(events "$EA" join)" = 3 ] && ok || bad "503, expired, admitted: 3 joins, not $(events "$EA" join)"
log_has "$TMP/one.log" '.event == "gateway.join" and .outcome == "admitted" and .log_index == 1 and
	.reattest_s == 5 and .worker == "wk-join-1"' && ok || bad "the admission is logged with its log index"
"$VEIL" verify --json --sim-root "$S/root.pem" "$TMP/a/bundle-1.json" 2>/dev/null | jq -e .verified >/dev/null &&
	ok || bad "the bundle the worker joined with verifies"
jq -e '.runtime_data["veil-worker"].id == "wk-join-1"' "$TMP/a/bundle-1.json" >/dev/null && ok ||
	bad "the bundle names the worker"

# The poll carries the lease; after the gateway forgets the worker, the
# next poll is a 404 and the worker joins again.
wait_for 10 has_event "$EA" poll '.ok' && ok || bad "the worker polls with its lease"
[ "$(events "$EA" poll '.ok | not')" = 0 ] && ok || bad "a poll without the right lease"
curl -sf -X POST "$GW_a/control/forget" >/dev/null && ok || bad "forget"
wait_for 10 has_event "$EA" admitted '.log_index == 2' && ok || bad "the worker did not join again"
log_has "$TMP/one.log" '.event == "gateway.poll" and .outcome == "forgotten" and .status == 404' &&
	ok || bad "the 404 on the poll is logged"

# ---- the refused worker: logged, cut and cleaned, not asked again soon ----
log_has "$TMP/two.log" '.event == "gateway.join" and .outcome == "refused" and .status == 403 and
	.code == "policy" and (.message | startswith("measurement not allowed?[2J?FORGED")) and
	(.message | length) <= 200 and .retry_in >= 60' && ok || {
	bad "the refusal is logged with its message, cut and without control characters"
	grep gateway.join "$TMP/two.log" | head -n 2 | sed 's/^/    /'
}
grep -q 'FORGED LOG LINE' <(grep -v '^{' "$TMP/two.log") && bad "the refusal forged a log line" || ok
# A refusal waits a minute or more: no new join in the 5 s since (the
# poll and the rejoin above took about that long already).
[ $((SECONDS - T_REFUSED)) -ge 6 ] || sleep $((6 - (SECONDS - T_REFUSED)))
[ "$(events "$EB" join)" = 1 ] && [ "$(events "$EB" refused)" = 1 ] && ok ||
	bad "a refused worker asked again within 5 s ($(events "$EB" join) joins)"

# ---- the hostile gateway: nothing taken that is not as the protocol says ----
wait_for 15 has_event "$EC" admitted && ok || bad "the worker facing bad answers was not admitted in the end"
[ "$(events "$EC" join)" = 4 ] && ok || bad "three bad answers, then admitted: $(events "$EC" join) joins"
[ "$(events "$EC" no_route)" = 0 ] && [ "$(events "$EC" forgot)" = 0 ] && ok ||
	bad "the worker followed a challenge that is a path: $(grep -E 'no_route|forgot' "$EC")"
for why in "the challenge does not parse" "the admission does not parse"; do
	log_has "$TMP/three.log" '.event == "gateway.join" and .outcome == "error" and .detail == "'"$why"'"' &&
		ok || bad "logged: $why"
done
[ "$(grep -c '"outcome":"error"' "$TMP/three.log")" = 3 ] && ok || bad "three errors logged"
wait_for 10 has_event "$EC" poll && ok || bad "the hostile gateway's worker polls"
[ "$(events "$EC" poll '.ok | not')" = 0 ] && ok || bad "a poll with a lease from a refused answer"

# ---- leave at SIGTERM ----
kill -TERM "$WPID_one"
wait "$WPID_one"
rc=$?
[ "$rc" = 0 ] && ok || bad "the worker exits 0 at SIGTERM, not $rc"
has_event "$EA" leave '.id == "wk-join-1" and .ok' && ok || bad "the worker left with its lease at SIGTERM"
log_has "$TMP/one.log" '.event == "gateway.leave" and .outcome == "left"' && ok || bad "the leave is logged"
kill -TERM "$WPID_two" "$WPID_three"
wait "$WPID_two"
wait "$WPID_three"
[ "$(events "$EB" leave)" = 0 ] && ok || bad "a worker that was never admitted posted a leave"
for lease in $(jq -r 'select(.event == "admitted") | .lease' "$EA"); do
	grep -q "$lease" "$TMP/one.log" && bad "the lease appears in the log" || ok
done
finish
