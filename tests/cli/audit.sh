#!/usr/bin/env bash
# `veil audit` and `veil verify-receipt` (docs/audit.md) against a real
# deployment on loopback (tests/cli/lib/deploy.bash): the sim platform, a
# sealed model, veil-gateway with its tree-head key, two workers that join
# it and are re-attested every 2 s, so the log grows while the test runs.
#
# verify-receipt: a receipt of a plain confidential request, with the
# worker's published bundle relayed by the gateway, holds; with the
# response or request altered, another worker's evidence, an altered
# receipt or a policy expecting another model it fails naming the check;
# without a policy it says the evidence was not appraised; missing files
# are usage errors. A streamed answer's text digest holds too.
#
# audit: passes and keeps the head; passes again after the log grew
# (consistency from the kept head); a kept head that was edited, signed by
# another log's key, forked (signed by the real key over another history)
# or from the future is an inconsistency that leaves the state file as it
# was; stale logged evidence is reported as stale, not as a failure.
# Then the gateway is the adversary, which is exactly what audit guards
# against: tests/cli/lib/lying_gateway.py relays the real gateway's log API
# (which it cannot forge without the log key) but serves an altered list
# of workers: one at another worker's log entry, one beyond the log, one
# with a receipt key its entry does not bind, one the log says has left.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/deploy.bash
export LC_ALL=C
for b in veil veil-gateway veil-worker; do
	[ -x "${BUILD:-build}/$b" ] || { bad "${BUILD:-build}/$b is missing: make check-tests"; finish; }
done
"$PY" -c 'import numpy' 2>/dev/null || { bad "$PY cannot import numpy (scripts/setup.sh)"; finish; }
command -v node >/dev/null || { bad "node is needed to sign forged tree heads (Node.js 20 or later)"; finish; }
curl() { command curl --max-time 20 "$@"; }

# vr NAME ARGS...: veil verify-receipt ARGS; stdout $TMP/NAME.out, stderr
# $TMP/NAME.err, exit status RC.
vr() {
	local name="$1"
	shift
	timeout 30 "$VEIL" verify-receipt "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	RC=$?
}
# vr_fails NAME CHECK ARGS...: exit 1, CHECK marked FAILED and named last.
vr_fails() {
	local name="$1" check="$2"
	shift 2
	vr "$name" "$@"
	[ "$RC" = 1 ] && grep -Eq "^FAILED +$check " "$TMP/$name.out" &&
		grep -q "FAILED: $check\$" "$TMP/$name.err" && ok ||
		{ bad "verify-receipt $name: exit $RC, want 1 naming $check"; sed 's/^/    /' "$TMP/$name.out" "$TMP/$name.err" | head -8; }
}
# audit NAME ARGS...: veil audit --json ARGS; JSON $TMP/NAME.json, RC.
audit() {
	local name="$1"
	shift
	timeout 60 "$VEIL" audit --json "$@" >"$TMP/$name.json" 2>"$TMP/$name.err"
	RC=$?
}
# audit_fails NAME CHECK REGEX ARGS...: exit 1 with a failed CHECK whose
# detail matches REGEX.
audit_fails() {
	local name="$1" check="$2" re="$3"
	shift 3
	audit "$name" "$@"
	[ "$RC" = 1 ] && jq -e --arg c "$check" --arg re "$re" \
		'any(.checks[]; .result == "failed" and .check == $c and (.detail | test($re)))' \
		"$TMP/$name.json" >/dev/null && ok ||
		{ bad "audit $name: exit $RC, want 1 with $check /$re/"; jq -c '.checks[] | select(.result != "ok")' "$TMP/$name.json" 2>/dev/null | head -5; head -3 "$TMP/$name.err"; }
}
sth_size() { curl -sf "$GW/v1/log/sth" | jq -r .tree_size; }

# ---- the deployment ----
deploy_model chat || { bad "deploy_model"; finish; }
DEPLOY_ACCOUNTS=0 deploy_gateway --reattest 2 || { bad "deploy_gateway"; finish; }
deploy_worker a wk-a
deploy_worker b wk-b
deploy_wait_admitted 2 60 && ok || { bad "the workers were not admitted"; tail -n 3 "$DEPLOY"/*.log; finish; }
P="$TMP/policy.json"
deploy_client_policy "$P" && ok || { bad "deploy_client_policy"; finish; }
A=(--gateway "$GW" --policy "$P")

# ---- verify-receipt ----
printf '{"model":"chat","messages":[{"role":"user","content":"hello"}],"max_tokens":6,"temperature":0}' >"$TMP/req.json"
curl -s -D "$TMP/h" -o "$TMP/resp.json" "$GW/v1/chat/completions" -H 'Content-Type: application/json' \
	-H 'X-Veil-Confidential: required' --data-binary @"$TMP/req.json"
header() { grep -i "^$1:" "$TMP/h" | cut -d' ' -f2- | tr -d '\r'; }
WID="$(header X-Veil-Worker)"
header X-Veil-Receipt >"$TMP/receipt.jws"
[ -s "$TMP/receipt.jws" ] && [ -n "$WID" ] && ok || { bad "no receipt or worker in the answer"; cat "$TMP/h"; }
OTHER=wk-a
[ "$WID" = wk-a ] && OTHER=wk-b
curl -sf "$GW/v1/attestation?worker=$WID" -o "$TMP/ev.json" &&
	curl -sf "$GW/v1/attestation?worker=$OTHER" -o "$TMP/ev-other.json" && ok ||
	bad "the gateway does not relay the published bundles"
R=("$TMP/receipt.jws" --evidence "$TMP/ev.json" --request "$TMP/req.json" --response "$TMP/resp.json")

vr good "${R[@]}" --policy "$P"
[ "$RC" = 0 ] && ok || { bad "verify-receipt: exit $RC"; sed 's/^/    /' "$TMP/good.out" "$TMP/good.err"; }
for c in policy receipt worker evidence model request response; do
	grep -Eq "^ok +$c " "$TMP/good.out" || { bad "verify-receipt: no ok line for $c"; break; }
done && ok
vr plain "${R[@]}" --sim-root "$SIM/root.pem"
[ "$RC" = 0 ] && grep -q "NOT appraised" "$TMP/plain.out" && grep -q "not appraised" "$TMP/plain.err" && ok ||
	{ bad "verify-receipt without a policy: exit $RC, or it does not say the evidence was not appraised"; cat "$TMP/plain.out"; }
vr_fails unrooted verify "${R[@]}"
cp "$TMP/resp.json" "$TMP/resp-flipped.json"
printf 'X' | dd of="$TMP/resp-flipped.json" bs=1 seek=20 conv=notrunc 2>/dev/null
vr_fails flipped response "$TMP/receipt.jws" --evidence "$TMP/ev.json" --request "$TMP/req.json" \
	--response "$TMP/resp-flipped.json" --policy "$P"
sed 's/hello/hullo/' "$TMP/req.json" >"$TMP/req-other.json"
vr_fails other-request request "$TMP/receipt.jws" --evidence "$TMP/ev.json" --request "$TMP/req-other.json" \
	--response "$TMP/resp.json" --policy "$P"
vr_fails other-evidence receipt "$TMP/receipt.jws" --evidence "$TMP/ev-other.json" --request "$TMP/req.json" \
	--response "$TMP/resp.json" --policy "$P"
# The receipt with more completion tokens written into its payload.
"$PY" - "$TMP/receipt.jws" >"$TMP/receipt-altered.jws" <<'EOF'
import base64, json, sys
h, p, s = open(sys.argv[1]).read().strip().split(".")
d = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
d["usage"]["completion_tokens"] += 1000
d["usage"]["total_tokens"] += 1000
p = base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).decode().rstrip("=")
print(h + "." + p + "." + s)
EOF
vr_fails altered-receipt receipt "$TMP/receipt-altered.jws" --evidence "$TMP/ev.json" --policy "$P"
deploy_client_policy "$TMP/policy-other-model.json" '.models.chat = ["'"$(printf '0%.0s' {1..64})"'"]'
vr_fails other-model model "${R[@]}" --policy "$TMP/policy-other-model.json"
vr missing-receipt "$TMP/nothing.jws" --evidence "$TMP/ev.json"
[ "$RC" = 2 ] && ok || bad "verify-receipt with a missing receipt file: exit $RC, want 2"
vr missing-evidence "$TMP/receipt.jws" --evidence "$TMP/nothing.json" --policy "$P"
[ "$RC" = 2 ] && ok || bad "verify-receipt with a missing bundle: exit $RC, want 2"
vr missing-response "${R[@]:0:5}" --response "$TMP/nothing" --policy "$P"
[ "$RC" = 2 ] && ok || bad "verify-receipt with a missing response file: exit $RC, want 2"
vr no-evidence "$TMP/receipt.jws"
[ "$RC" = 2 ] && ok || bad "verify-receipt without --evidence: exit $RC, want 2"
# A streamed answer: its receipt is in the last event, its digest is of the
# text.
sed 's/"temperature":0}/"temperature":0,"stream":true}/' "$TMP/req.json" >"$TMP/req-stream.json"
curl -s -N -D "$TMP/hs" -o "$TMP/stream.sse" "$GW/v1/chat/completions" -H 'Content-Type: application/json' \
	-H 'X-Veil-Confidential: required' --data-binary @"$TMP/req-stream.json"
SWID="$(grep -i '^X-Veil-Worker:' "$TMP/hs" | cut -d' ' -f2 | tr -d '\r')"
grep '^data: {' "$TMP/stream.sse" | grep veil_receipt | tail -1 | sed 's/^data: //' | jq -r .veil_receipt >"$TMP/stream.jws"
curl -sf "$GW/v1/attestation?worker=$SWID" -o "$TMP/ev-stream.json"
vr stream "$TMP/stream.jws" --evidence "$TMP/ev-stream.json" --request "$TMP/req-stream.json" \
	--response "$TMP/stream.sse" --policy "$P"
[ "$RC" = 0 ] && grep -q "stream's text" "$TMP/stream.out" && ok ||
	{ bad "verify-receipt of a stream: exit $RC"; sed 's/^/    /' "$TMP/stream.out" "$TMP/stream.err" | head -12; }
# The stream's text alone, as a plain file, hashes to the stream's digest,
# but the receipt signed a stream: refused, as the client core refuses it.
grep '^data: {' "$TMP/stream.sse" | sed 's/^data: //' | jq -j '.choices[0].delta.content // empty' >"$TMP/stream.txt"
vr_fails stream-as-bytes response "$TMP/stream.jws" --evidence "$TMP/ev-stream.json" \
	--request "$TMP/req-stream.json" --response "$TMP/stream.txt" --policy "$P"

# ---- audit: passes, keeps the head, passes again once the log grew ----
S="$TMP/state.json"
audit first "${A[@]}" --state "$S"
[ "$RC" = 0 ] && jq -e '.consistent and .state_written and .failed == 0' "$TMP/first.json" >/dev/null && ok ||
	{ bad "the first audit: exit $RC"; jq -c '.checks[] | select(.result != "ok")' "$TMP/first.json"; head -3 "$TMP/first.err"; }
jq -e '[.checks[] | select(.check == "list" and .result == "ok")] | length == 2' "$TMP/first.json" >/dev/null &&
	ok || bad "the first audit does not find both workers in the log"
jq -e '.version == 1 and (.tree_size > 0) and (.root_hash | length == 64) and (.sth | split(".") | length == 3)' \
	"$S" >/dev/null && ok || { bad "the state file"; cat "$S"; }
KEPT="$(jq -r .tree_size "$S")"
for _ in $(seq 1 100); do [ "$(sth_size)" -gt "$KEPT" ] && break; sleep 0.1; done
audit second "${A[@]}" --state "$S" --sample 3
[ "$RC" = 0 ] && jq -e '.consistent and (.checks | any(.check == "consistency" and .result == "ok"))' \
	"$TMP/second.json" >/dev/null && [ "$(jq -r .tree_size "$S")" -gt "$KEPT" ] && ok ||
	{ bad "the audit after the log grew: exit $RC"; jq -c '.checks[] | select(.result != "ok")' "$TMP/second.json"; }
audit text "${A[@]}"
timeout 60 "$VEIL" audit "${A[@]}" >"$TMP/text.out" 2>"$TMP/text.err"
[ "$?" = 0 ] && grep -Eq '^ok +head ' "$TMP/text.out" && grep -q 'consistent' "$TMP/text.err" && ok ||
	bad "the audit's text report"

# ---- kept heads that do not hold: exit 1, the state file unchanged ----
cp "$S" "$TMP/state.saved"
# kept_head FILE KEY SIZE TIMESTAMP ROOT-HEX: a state file whose head is
# signed with KEY (a private JWK file, or "new" for a fresh key).
cat >"$TMP/sign.js" <<'EOF'
const crypto = require('crypto'), fs = require('fs');
const [keyFile, size, ts, rootHex] = process.argv.slice(2);
const jwk = keyFile === 'new'
	? crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey.export({format: 'jwk'})
	: JSON.parse(fs.readFileSync(keyFile, 'utf8'));
const b64u = (b) => Buffer.from(b).toString('base64url');
const kid = b64u(crypto.createHash('sha256')
	.update(JSON.stringify({crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y})).digest());
const head = b64u(JSON.stringify({alg: 'ES256', typ: 'veil-sth+jws', kid}));
const body = b64u(JSON.stringify({tree_size: Number(size), timestamp: Number(ts),
	root_hash: b64u(Buffer.from(rootHex, 'hex'))}));
const key = crypto.createPrivateKey({key: jwk, format: 'jwk'});
const sig = crypto.sign('sha256', Buffer.from(head + '.' + body), {key, dsaEncoding: 'ieee-p1363'});
console.log(JSON.stringify({version: 1, tree_size: Number(size), timestamp: Number(ts),
	root_hash: rootHex, sth: head + '.' + body + '.' + b64u(sig)}));
EOF
kept_head() { node "$TMP/sign.js" "$2" "$3" "$4" "$5" >"$1"; }
SZ="$(jq -r .tree_size "$S")"
TS="$(jq -r .timestamp "$S")"
ROOT="$(jq -r .root_hash "$S")"
RANDOM_ROOT="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# The node-signed copy of the real head must pass: the forgeries below
# then fail for what they change, not for how they were made.
kept_head "$TMP/st-resigned.json" "$STH_KEY" "$SZ" "$TS" "$ROOT"
audit resigned "${A[@]}" --state "$TMP/st-resigned.json"
[ "$RC" = 0 ] && ok || { bad "a head re-signed by the test with the real key: exit $RC"; jq -c '.checks[] | select(.result != "ok")' "$TMP/resigned.json"; }
jq --arg r "$RANDOM_ROOT" '.root_hash = $r' "$S" >"$TMP/st-doctored.json"
cp "$TMP/st-doctored.json" "$TMP/st-doctored.saved"
audit_fails doctored state 'other values' "${A[@]}" --state "$TMP/st-doctored.json"
cmp -s "$TMP/st-doctored.json" "$TMP/st-doctored.saved" && ok || bad "a failed audit changed the state file"
kept_head "$TMP/st-otherlog.json" new "$SZ" "$TS" "$ROOT"
audit_fails other-log state 'does not verify' "${A[@]}" --state "$TMP/st-otherlog.json"
kept_head "$TMP/st-fork.json" "$STH_KEY" "$((SZ - 1))" "$TS" "$RANDOM_ROOT"
cp "$TMP/st-fork.json" "$TMP/st-fork.saved"
audit_fails fork consistency 'rewrote its history' "${A[@]}" --state "$TMP/st-fork.json"
cmp -s "$TMP/st-fork.json" "$TMP/st-fork.saved" && ok || bad "a failed audit changed the forked state file"
kept_head "$TMP/st-fork-same.json" "$STH_KEY" "$SZ" "$TS" "$RANDOM_ROOT"
audit_fails fork-same-size consistency 'different roots' "${A[@]}" --state "$TMP/st-fork-same.json"
kept_head "$TMP/st-future.json" "$STH_KEY" "$SZ" "$((TS + 3600000))" "$ROOT"
audit_fails future consistency 'older than the kept' "${A[@]}" --state "$TMP/st-future.json"
echo 'not json' >"$TMP/st-bad.json"
audit bad-state "${A[@]}" --state "$TMP/st-bad.json"
[ "$RC" = 2 ] && ok || bad "a state file that is not JSON: exit $RC, want 2"
cmp -s "$S" "$TMP/state.saved" && ok || bad "the real state file changed"

# ---- stale evidence: acceptable when logged, not now ----
deploy_client_policy "$TMP/policy-1s.json" '.appraisal.sim.max_age_seconds = 1'
sleep 1.5
audit stale --gateway "$GW" --policy "$TMP/policy-1s.json" --sample 4
[ "$RC" = 0 ] && jq -e '.stale > 0 and .failed == 0 and
	any(.checks[]; .result == "stale" and (.detail | test("acceptable when logged")))' "$TMP/stale.json" >/dev/null &&
	ok || { bad "stale logged evidence: exit $RC"; jq -c '.checks[] | select(.result != "ok")' "$TMP/stale.json" | head -5; }

# ---- the gateway as the adversary ----
LIST="$TMP/list.json"
"$PY" tests/cli/lib/lying_gateway.py --upstream "$GW" --list "$LIST" --port-file "$TMP/liar.port" &
deploy_track $!
for _ in $(seq 1 100); do [ -s "$TMP/liar.port" ] && break; sleep 0.05; done
LIAR="http://127.0.0.1:$(cat "$TMP/liar.port")"
L=(--gateway "$LIAR" --policy "$P")
audit relayed "${L[@]}"
[ "$RC" = 0 ] && ok || { bad "audit through the honest relay: exit $RC"; jq -c '.checks[] | select(.result != "ok")' "$TMP/relayed.json"; }
curl -sf "$GW/v1/attestation" >"$TMP/real-list.json" || bad "the real list"
# wk-a served at wk-b's log entry.
jq '(.data[] | select(.worker == "wk-a") | .log_index) = ([.data[] | select(.worker == "wk-b")][0].log_index)' \
	"$TMP/real-list.json" >"$LIST"
audit_fails shifted list "wk-a is served at log entry [0-9]+, which is worker wk-b's" "${L[@]}"
# A worker the log has never seen, at an index beyond the tree.
jq '.data += [(.data[0] | .worker = "wk-ghost" | .log_index = 1000000)]' "$TMP/real-list.json" >"$LIST"
audit_fails ghost list 'wk-ghost is served at log index 1000000, beyond the verified tree' "${L[@]}"
# A receipt key the logged evidence does not bind.
jq '(.data[] | select(.worker == "wk-b") | .receipt_kid) = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"' \
	"$TMP/real-list.json" >"$LIST"
audit_fails other-key list 'wk-b: the list.s receipt key' "${L[@]}"
# A worker that has left, still served: the list from before it left.
curl -sf "$GW/v1/attestation" >"$LIST"
deploy_stop_worker b
for _ in $(seq 1 100); do deploy_admitted wk-b || break; sleep 0.1; done
deploy_admitted wk-b && bad "wk-b is still admitted after it stopped" || ok
audit_fails left list 'wk-b is served, but the log shows its (leave|removal) at entry' "${L[@]}"
: >"$LIST"
audit after-leave "${A[@]}"
[ "$RC" = 0 ] && ok || { bad "the audit after wk-b left: exit $RC"; jq -c '.checks[] | select(.result != "ok")' "$TMP/after-leave.json"; }

# ---- usage and unavailable ----
audit unreachable --gateway "http://127.0.0.1:$(deploy_free_port)" --policy "$P"
[ "$RC" = 3 ] && ok || bad "audit of an unreachable gateway: exit $RC, want 3"
deploy_client_policy "$TMP/policy-nolog.json" 'del(.log_key)'
audit no-log-key --gateway "$GW" --policy "$TMP/policy-nolog.json"
[ "$RC" = 2 ] && ok || bad "audit with a policy without log_key: exit $RC, want 2"
audit no-policy --gateway "$GW"
[ "$RC" = 2 ] && ok || bad "audit without --policy: exit $RC, want 2"
audit bad-sample "${A[@]}" --sample 0
[ "$RC" = 2 ] && ok || bad "audit --sample 0: exit $RC, want 2"
finish
