#!/usr/bin/env bash
# The guest library's KBS client (include/veil/guest.h, docs/guest.md)
# through `veil kbs fetch`, against real veil-kbs daemons on loopback: a sim
# platform with two GPUs whose evidence travels in the attest request and is
# required by the broker's policy; refusals that say which step refused and
# why (the EAR token's submodule statuses and policy id for a 403, the
# broker's detail for a 401, "no such resource" for a 404); a broker that
# comes up a second after the guest started, waited for; a deadline of 0
# that fails at once; 5xx and 429 retried until the deadline, and a 400
# not retried at all.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/kbs.bash

[ -x "$KBS_BIN" ] || { bad "$KBS_BIN is missing: make check-tests"; finish; }
PY="${VEIL_PYTHON:-python3}"

# check NAME WANT-EXIT command...: exit code; stdout in $TMP/out, stderr in $TMP/err.
check() {
	local name="$1" want="$2"
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else
		bad "$name: exit $rc, want $want"
		sed 's/^/    /' "$TMP/err" | head -5
	fi
}
# has NAME PATTERN: the last command's stderr matches the extended regex.
has() {
	grep -qE -- "$2" "$TMP/err" && ok || {
		bad "$1: stderr does not match /$2/"
		sed 's/^/    /' "$TMP/err" | head -5
	}
}

S="$TMP/sim"
"$VEIL" sim init --gpus 2 "$S" >/dev/null 2>&1 && ok || { bad "sim init"; finish; }
ROOT="$(cat "$S/root.sha256")"
printf 'worker binary v1' >"$TMP/worker"
printf '{"model":"demo"}' >"$TMP/worker.json"
W=(--workload "$TMP/worker" --workload "$TMP/worker.json")
M="$("$VEIL" sim measure "$TMP/worker" "$TMP/worker.json")"
# Both GPUs are required, in CC mode (the defaults of the policy's "gpu").
cat >"$TMP/policy.json" <<JSON
{"version": 1, "id": "guest-gpus",
 "sim": {"roots": ["$ROOT"], "max_age_seconds": 300, "match": {"measurement": "workloads"}},
 "gpu": {"min_count": 2}}
JSON
cat >"$TMP/rv.json" <<JSON
{"version": 1, "expires": "2099-01-01T00:00:00Z", "sets": {"workloads": ["$M"]}}
JSON
cat >"$TMP/resource-policy.json" <<JSON
{"version": 1,
 "rules": [{"resources": "default/model/*", "status": ["affirming"], "tee": ["sim"],
            "allow_insecure": true}]}
JSON
SECRET="model-key-$RANDOM-$RANDOM"
printf '%s' "$SECRET" >"$TMP/secret"
printf 'other' >"$TMP/other"
# Another platform's root: that broker cannot verify this platform's evidence.
"$VEIL" sim init --gpus 0 "$TMP/other-sim" >/dev/null 2>&1 && ok || bad "sim init (another platform)"
sed "s/$ROOT/$(cat "$TMP/other-sim/root.sha256")/" "$TMP/policy.json" >"$TMP/policy-other.json"

start main --policy "$TMP/policy.json" --reference-values "$TMP/rv.json" \
	--resource-policy "$TMP/resource-policy.json"
"$KBS_BIN" put-resource --db "$TMP/main.db" --master-key "$TMP/main.key" default/model/key \
	"$TMP/secret" 2>/dev/null && ok || bad "put-resource default/model/key"
"$KBS_BIN" put-resource --db "$TMP/main.db" --master-key "$TMP/main.key" default/other/secret \
	"$TMP/other" 2>/dev/null && ok || bad "put-resource default/other/secret"
start untrusted --policy "$TMP/policy-other.json" --reference-values "$TMP/rv.json" \
	--resource-policy "$TMP/resource-policy.json"

# Released: CPU and both GPUs attested, bound, and affirmed.
check "release with sim GPUs" 0 "$VEIL" kbs fetch --url "$URL_main" --sim "$S" "${W[@]}" \
	--gpus sim default/model/key
[ "$(cat "$TMP/out")" = "$SECRET" ] && ok || bad "the released value is the secret"
check "release with --gpus auto (the platform's GPUs)" 0 "$VEIL" kbs fetch --url "$URL_main" \
	--sim "$S" "${W[@]}" --gpus auto --out "$TMP/fetched.key" default/model/key
[ "$(cat "$TMP/fetched.key")" = "$SECRET" ] && [ "$(stat -c %a "$TMP/fetched.key")" = 600 ] && ok ||
	bad "--out holds the secret, mode 0600"
grep '^{' "$TMP/main.log" | jq -e -s 'map(select(.event == "attest" and .tee == "sim" and
	.result == "affirming")) | length >= 2' >/dev/null && ok ||
	bad "the broker logged two affirming sim attestations"

# Denied by the policy: the message names the EAR's statuses and the policy.
check "no GPU evidence under a policy that requires GPUs" 1 "$VEIL" kbs fetch --url "$URL_main" \
	--sim "$S" "${W[@]}" default/model/key
has "no GPUs: the step and status" 'resource default/model/key: refused by the broker.s resource policy: HTTP 403'
has "no GPUs: the EAR says why" 'cpu0: contraindicated \(configuration: the policy requires at least 2 GPUs'
has "no GPUs: the policy id" 'appraisal policy guest-gpus'
check "another workload" 1 "$VEIL" kbs fetch --url "$URL_main" --sim "$S" \
	--workload "$TMP/worker" --gpus sim default/model/key
has "another workload: the measurement is named" 'cpu0: contraindicated \(executables: .*not in reference-value set "workloads"'
has "another workload: the GPUs were fine" 'gpu0: affirming, gpu1: affirming'
check "a path no rule releases" 1 "$VEIL" kbs fetch --url "$URL_main" --sim "$S" "${W[@]}" \
	--gpus sim default/other/secret
has "path refused: everything affirming, still refused" 'HTTP 403: default/other/secret is not released.*cpu0: affirming, gpu0: affirming, gpu1: affirming; appraisal policy guest-gpus'
cp -a "$S" "$TMP/sim-ccoff"
sed -i 's/"cc_mode": "on"/"cc_mode": "off"/' "$TMP/sim-ccoff/platform.json"
check "GPUs with CC off" 1 "$VEIL" kbs fetch --url "$URL_main" --sim "$TMP/sim-ccoff" "${W[@]}" \
	--gpus sim default/model/key
has "CC off: each GPU's status and reason" 'gpu0: contraindicated \(runtime-opaque: .*gpu1: contraindicated'
grep -q "$SECRET" "$TMP/err" "$TMP/main.log" && bad "a refusal or the log shows the secret" || ok
grep -qE 'eyJ[A-Za-z0-9_-]{20,}' "$TMP/err" && bad "a refusal shows the token" || ok

# Evidence refused (401) and a resource that does not exist (404).
check "evidence the broker cannot verify" 1 "$VEIL" kbs fetch --url "$URL_untrusted" --sim "$S" \
	"${W[@]}" --gpus sim default/model/key
has "401: the step and the broker's detail" 'attest: the broker refused the evidence: HTTP 401: RCAR handshake Attest failed: the evidence does not verify'
check "no such resource" 1 "$VEIL" kbs fetch --url "$URL_main" --sim "$S" "${W[@]}" --gpus sim \
	default/model/missing
has "404" 'resource default/model/missing: no such resource at the broker \(HTTP 404'

# A broker that is not up yet: the guest starts first, the broker a second
# later on the port it will use, and the retry gets the key.
start late --policy "$TMP/policy.json" --reference-values "$TMP/rv.json" \
	--resource-policy "$TMP/resource-policy.json"
"$KBS_BIN" put-resource --db "$TMP/late.db" --master-key "$TMP/late.key" default/model/key \
	"$TMP/secret" 2>/dev/null && ok || bad "put-resource into the late broker's store"
LATE_PORT="$(cat "$TMP/late.port")"
kill -TERM "${PIDS[${#PIDS[@]} - 1]}"
wait "${PIDS[${#PIDS[@]} - 1]}" 2>/dev/null
PIDS[${#PIDS[@]} - 1]=""
t0=$(date +%s%N)
check "deadline 0: one try" 1 "$VEIL" kbs fetch --url "$URL_late" --sim "$S" "${W[@]}" \
	--gpus sim default/model/key
t1=$(date +%s%N)
has "deadline 0: a network error" 'POST /kbs/v0/auth: .*cannot connect'
grep -q "trying again" "$TMP/err" && bad "deadline 0 retried" || ok
[ $(((t1 - t0) / 1000000)) -lt 3000 ] && ok || bad "deadline 0 took $(((t1 - t0) / 1000000)) ms"
"$VEIL" kbs fetch --url "$URL_late" --sim "$S" "${W[@]}" --gpus sim --retry-ms 20000 \
	default/model/key >"$TMP/late.out" 2>"$TMP/late.err" &
fetch_pid=$!
sleep 1
"$KBS_BIN" --db "$TMP/late.db" --master-key "$TMP/late.key" --port "$LATE_PORT" \
	--policy "$TMP/policy.json" --reference-values "$TMP/rv.json" \
	--resource-policy "$TMP/resource-policy.json" 2>>"$TMP/late.log" &
PIDS+=($!)
wait "$fetch_pid"
[ $? -eq 0 ] && [ "$(cat "$TMP/late.out")" = "$SECRET" ] && ok ||
	bad "the guest waited for the broker and got the key ($(tail -n 2 "$TMP/late.err"))"
grep -qE '^veil kbs fetch: try 1 failed: POST /kbs/v0/auth: .*; trying again in [0-9]+ ms$' \
	"$TMP/late.err" && ok || bad "each retry is reported ($(head -n 1 "$TMP/late.err"))"

# 5xx and 429 are retried until the deadline; a 400 is an answer, at once.
cat >"$TMP/stub.py" <<'PY'
import http.server, json, sys
status = int(sys.argv[1])
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"type": "stub", "detail": "stub says %d" % status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
for code in 503 429 400; do
	"$PY" "$TMP/stub.py" "$code" "$TMP/stub$code.port" &
	PIDS+=($!)
	for _ in $(seq 1 100); do [ -s "$TMP/stub$code.port" ] && break; sleep 0.05; done
	[ -s "$TMP/stub$code.port" ] || { bad "the HTTP $code stub did not start"; continue; }
	check "HTTP $code" 1 "$VEIL" kbs fetch --url "http://127.0.0.1:$(cat "$TMP/stub$code.port")" \
		--sim "$S" "${W[@]}" --retry-ms 1200 default/model/key
	retries="$(grep -c 'trying again' "$TMP/err")"
	if [ "$code" = 400 ]; then
		[ "$retries" -eq 0 ] && ok || bad "HTTP 400 was retried"
		has "400: the step and detail" 'auth: the broker refused the sim TEE: HTTP 400: stub says 400'
	else
		[ "$retries" -ge 2 ] && ok || bad "HTTP $code: $retries retries in 1.2 s"
		has "$code: gave up, naming the last failure" "gave up after [0-9]+ attempts in [0-9]+ ms: POST /kbs/v0/auth: HTTP $code: stub says $code"
	fi
done

# What the guest refuses before any exchange: exit 2.
check "an unknown --gpus" 2 "$VEIL" kbs fetch --url "$URL_main" --sim "$S" --gpus some \
	default/model/key
has "--gpus named" 'gpus "some"'
check "sim GPUs on a hardware TEE" 2 "$VEIL" kbs fetch --url "$URL_main" --tee auto --gpus sim \
	default/model/key
check "a resource path of two segments" 2 "$VEIL" kbs fetch --url "$URL_main" --sim "$S" \
	default/model
check "a resource path with a query" 2 "$VEIL" kbs fetch --url "$URL_main" --sim "$S" \
	'default/model/key?x=1'
check "a negative --retry-ms" 2 "$VEIL" kbs fetch --url "$URL_main" --sim "$S" --retry-ms -1 \
	default/model/key
check "sim GPUs on a platform without" 1 "$VEIL" kbs fetch --url "$URL_main" \
	--sim "$TMP/other-sim" --gpus sim default/model/key
has "no sim GPUs" 'the platform has no GPUs'

finish
