#!/usr/bin/env bash
# veil-kbs end to end on loopback: real daemons with real SQLite stores,
# driven through the KBS protocol 0.4.0 by a client written from the
# protocol on Node's fetch and the `jose` package (tests/interop/
# kbs_client.mjs), with evidence from the simulated TEE made by `veil
# attest`. Three brokers: the main one (sim root trusted, resources
# released to affirming sim results), one whose sessions expire after a
# second, and one on the default policy. Then the daemon-level checks: a
# clean stop on SIGTERM, logs free of secrets and tokens, bad flags refused.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/node.bash
. tests/cli/lib/kbs.bash

# The client's passes are counted, not printed, among the script's own.
NODE_CHECKS_QUIET=1

node_require "the KBS client"
[ -x "$KBS_BIN" ] || { bad "$KBS_BIN is missing: make check-tests"; finish; }
npm_packages_ready || finish

# The simulated platform, the workload and its reference value.
S="$TMP/sim"
"$VEIL" sim init "$S" >/dev/null 2>&1 && ok || { bad "sim init"; finish; }
ROOT="$(cat "$S/root.sha256")"
printf 'worker binary v1' >"$TMP/worker"
printf '{"model":"demo"}' >"$TMP/worker.json"
M="$("$VEIL" sim measure "$TMP/worker" "$TMP/worker.json")"
cat >"$TMP/policy.json" <<JSON
{"version": 1, "id": "kbs-sim-test",
 "sim": {"roots": ["$ROOT"], "max_age_seconds": 300, "match": {"measurement": "workloads"}}}
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
printf 'not for sim' >"$TMP/other"

# The master key file does not exist yet for the first put-resource, so
# create the stores through a first start, then load the resources.
for name in main expiring default; do
	"$KBS_BIN" put-resource --db "$TMP/$name.db" --master-key "$TMP/$name.key" \
		default/model/key "$TMP/secret" >/dev/null 2>&1 && bad "put-resource without a master key succeeded"
done
start main --policy "$TMP/policy.json" --reference-values "$TMP/rv.json" \
	--resource-policy "$TMP/resource-policy.json"
"$KBS_BIN" put-resource --db "$TMP/main.db" --master-key "$TMP/main.key" default/model/key \
	"$TMP/secret" 2>/dev/null && ok || bad "put-resource into a running broker's store"
"$KBS_BIN" put-resource --db "$TMP/main.db" --master-key "$TMP/main.key" default/other/secret \
	"$TMP/other" 2>/dev/null && ok || bad "put-resource default/other/secret"
start expiring --policy "$TMP/policy.json" --reference-values "$TMP/rv.json" \
	--resource-policy "$TMP/resource-policy.json" --session-lifetime 1
start default --resource-policy "$TMP/resource-policy.json"
start short --policy "$TMP/policy.json" --reference-values "$TMP/rv.json" \
	--resource-policy "$TMP/resource-policy.json" --token-lifetime 1 --session-lifetime 3600
"$KBS_BIN" put-resource --db "$TMP/short.db" --master-key "$TMP/short.key" default/model/key \
	"$TMP/secret" 2>/dev/null && ok || bad "put-resource into the short-token broker's store"
echo '{"version": 1, "id": "sample-dev", "sample": {}}' >"$TMP/sample-policy.json"
cat >"$TMP/sample-rp.json" <<JSON
{"version": 1,
 "rules": [{"resources": "default/model/*", "status": ["affirming"], "tee": ["sample"],
            "allow_insecure": true}]}
JSON
start sample --policy "$TMP/sample-policy.json" --resource-policy "$TMP/sample-rp.json"
"$KBS_BIN" put-resource --db "$TMP/sample.db" --master-key "$TMP/sample.key" default/model/key \
	"$TMP/secret" 2>/dev/null && ok || bad "put-resource into the sample broker's store"

KBS_URL="$URL_main" KBS_EXPIRING_URL="$URL_expiring" KBS_DEFAULT_URL="$URL_default" \
	KBS_SAMPLE_URL="$URL_sample" KBS_SHORT_TOKEN_URL="$URL_short" VEIL="$VEIL" SIM_DIR="$S" WORKLOAD="$TMP/worker:$TMP/worker.json" \
	WORKDIR="$TMP" SECRET="$SECRET" run_node_checks "$NODE_DIR/kbs_client.mjs"

# veil kbs fetch: the guest's side in C, against the same brokers.
"$VEIL" kbs fetch --url "$URL_main" --sim "$S" --workload "$TMP/worker" --workload "$TMP/worker.json" \
	default/model/key >"$TMP/fetched" 2>"$TMP/err" && [ "$(cat "$TMP/fetched")" = "$SECRET" ] && ok ||
	bad "veil kbs fetch releases the resource ($(head -c 200 "$TMP/err"))"
"$VEIL" kbs fetch --url "$URL_main" --sim "$S" --workload "$TMP/worker" --workload "$TMP/worker.json" \
	--out "$TMP/fetched.key" default/model/key 2>/dev/null &&
	[ "$(stat -c %a "$TMP/fetched.key")" = 600 ] && [ "$(cat "$TMP/fetched.key")" = "$SECRET" ] && ok ||
	bad "veil kbs fetch --out writes a 0600 file"
"$VEIL" kbs fetch --url "$URL_main" --sim "$S" --workload "$TMP/worker" --workload "$TMP/worker.json" \
	default/other/secret >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "HTTP 403" "$TMP/err" && ok || bad "veil kbs fetch: a path the policy refuses is exit 1, 403"
"$VEIL" kbs fetch --url "$URL_main" --sim "$S" --workload "$TMP/worker" default/model/key \
	>/dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "HTTP 403" "$TMP/err" && ok || bad "veil kbs fetch: another workload is refused"
"$VEIL" kbs fetch --url "$URL_default" --sim "$S" default/model/key >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "HTTP 401" "$TMP/err" && ok || bad "veil kbs fetch: an untrusted sim root gets 401"

# Init-data (docs/kbs.md "Init-data"): the digest of the initdata TOML, by
# its own algorithm, must be what the TEE was launched with in HOST_DATA.
# `veil kbs fetch --init-data` plays the host too, so its HOST_DATA always
# matches; the mismatches are sent by hand, with evidence from `veil attest`,
# whose HOST_DATA is the sim platform's (platform.json).
cat >"$TMP/initdata.toml" <<'TOML'
# the worker's initdata
version = "0.1.0"
algorithm = "sha384"

[data]
"aa.toml" = '''
[token_configs.kbs]
url = "http://127.0.0.1:8080"
'''
TOML
ID384="$(sha384sum "$TMP/initdata.toml" | cut -d' ' -f1)"
W=(--workload "$TMP/worker" --workload "$TMP/worker.json")
"$VEIL" kbs fetch --url "$URL_main" --sim "$S" "${W[@]}" --init-data "$TMP/initdata.toml" \
	default/model/key >"$TMP/fetched" 2>"$TMP/err" && [ "$(cat "$TMP/fetched")" = "$SECRET" ] && ok ||
	bad "veil kbs fetch --init-data: the resource is released ($(head -c 200 "$TMP/err"))"
grep '^{' "$TMP/main.log" | jq -e -s --arg d "$ID384" \
	'any(.event == "attest" and .result == "affirming" and .init_data == $d)' >/dev/null && ok ||
	bad "the attest log line carries the bound init-data's digest"
printf 'version = "0.1.0"\nalgorithm = "md5"\n[data]\n' >"$TMP/bad-initdata.toml"
"$VEIL" kbs fetch --url "$URL_main" --sim "$S" "${W[@]}" --init-data "$TMP/bad-initdata.toml" \
	default/model/key >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] && grep -q 'line 2: unknown algorithm "md5"' "$TMP/err" && ok ||
	bad "veil kbs fetch: unreadable init-data is exit 2, naming the line ($(head -c 200 "$TMP/err"))"

JWK='{"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":"WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis","y":"y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}'
# attest_by_hand NAME URL TEE SIMDIR INIT-DATA-JSON: auth, then attest with
# sim evidence from SIMDIR bound to the nonce and JWK (a dummy for sample);
# prints the HTTP status and leaves the body in $TMP/NAME.out.
attest_by_hand() {
	local name="$1" url="$2" tee="$3" sim="$4" init="$5" nonce ev='{"svn":"1","report_data":"AA=="}'
	curl -s -c "$TMP/$name.jar" -o "$TMP/$name.auth" -H 'content-type: application/json' \
		--data "{\"version\":\"0.4.0\",\"tee\":\"$tee\",\"extra-params\":\"\"}" "$url/kbs/v0/auth"
	nonce="$(jq -r .nonce "$TMP/$name.auth")"
	if [ "$tee" = sim ]; then
		jq -n --arg n "$nonce" --argjson k "$JWK" \
			'{"additional-evidence": "", nonce: $n, "tee-pubkey": $k}' >"$TMP/$name.rt"
		"$VEIL" attest --tee sim --sim "$sim" "${W[@]}" --runtime-data "$TMP/$name.rt" \
			--out "$TMP/$name.ev" 2>/dev/null
		ev="$(jq -c .primary_evidence "$TMP/$name.ev")"
	fi
	jq -n --arg n "$nonce" --argjson k "$JWK" --argjson i "$init" --argjson ev "$ev" \
		'{"init-data": $i, "runtime-data": {nonce: $n, "tee-pubkey": $k},
		  "tee-evidence": {primary_evidence: $ev, additional_evidence: ""}}' >"$TMP/$name.attest"
	curl -s -b "$TMP/$name.jar" -o "$TMP/$name.out" -w '%{http_code}' \
		-H 'content-type: application/json' --data @"$TMP/$name.attest" "$url/kbs/v0/attest"
}
# The payload of the JWT in $TMP/NAME.out, decoded.
token_claims() {
	local p
	p="$(jq -r .token "$TMP/$1.out" | cut -d. -f2 | tr '_-' '/+')"
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | base64 -d
}
INIT="$(jq -n --rawfile b "$TMP/initdata.toml" '{format: "toml", body: $b}')"
# The sim platform was launched with HOST_DATA zero: this init-data is not it.
code="$(attest_by_hand idz "$URL_main" sim "$S" "$INIT")"
[ "$code" = 401 ] && jq -e '.detail | test("init-data does not match HOST_DATA")' "$TMP/idz.out" \
	>/dev/null && ok || bad "init-data the TEE was not launched with is 401 ($code: $(cat "$TMP/idz.out"))"
# A platform launched with the digest in HOST_DATA (SHA-384 truncated to
# its 32 bytes): the token records the whole digest.
cp -a "$S" "$TMP/sim-init"
jq --arg h "${ID384:0:64}" '.host_data = $h' "$S/platform.json" >"$TMP/sim-init/platform.json"
code="$(attest_by_hand idok "$URL_main" sim "$TMP/sim-init" "$INIT")"
[ "$code" = 200 ] && token_claims idok | jq -e --arg d "$ID384" \
	'.submods.cpu0."ear.veraison.annotated-evidence".init_data == $d and
	 .submods.cpu0."ear.status" == "affirming"' >/dev/null && ok ||
	bad "matching init-data: cpu0's annotated evidence has its digest ($code: $(head -c 300 "$TMP/idok.out"))"
# The same platform, and a body one comment longer than it was launched with.
INIT2="$(jq -n --rawfile b "$TMP/initdata.toml" '{format: "toml", body: ($b + "# edited\n")}')"
code="$(attest_by_hand idedit "$URL_main" sim "$TMP/sim-init" "$INIT2")"
[ "$code" = 401 ] && jq -e --arg d "${ID384:0:64}" \
	'.detail | test("init-data does not match HOST_DATA") and test($d)' "$TMP/idedit.out" >/dev/null &&
	ok || bad "an edited init-data body is 401, naming the report's HOST_DATA ($code: $(cat "$TMP/idedit.out"))"
# No init-data: nothing changes, and the token has no init_data.
code="$(attest_by_hand idnull "$URL_main" sim "$TMP/sim-init" null)"
[ "$code" = 200 ] && token_claims idnull | jq -e '.submods.cpu0."ear.veraison.annotated-evidence" |
	has("runtime_data_claims") and (has("init_data") | not)' >/dev/null && ok ||
	bad "null init-data: a token without init_data ($code)"
code="$(attest_by_hand idfmt "$URL_main" sim "$S" '{"format":"json","body":"{}"}')"
[ "$code" = 400 ] && grep -q 'format' "$TMP/idfmt.out" && ok ||
	bad "an init-data format other than toml is 400 ($code: $(cat "$TMP/idfmt.out"))"
code="$(attest_by_hand idkey "$URL_main" sim "$S" \
	'{"format":"toml","body":"version = \"0.1.0\"\nalgorithm = \"sha384\"\nextra = \"x\"\n[data]\n"}')"
[ "$code" = 400 ] && jq -e '.detail | test("line 3") and test("unknown key")' "$TMP/idkey.out" >/dev/null &&
	ok || bad "init-data with an unknown top-level key is 400, naming the line ($code: $(cat "$TMP/idkey.out"))"
# The sample TEE has no init-data register: refused, not skipped.
code="$(attest_by_hand idsample "$URL_sample" sample "" "$INIT")"
[ "$code" = 401 ] && grep -q 'no init-data register' "$TMP/idsample.out" && ok ||
	bad "init-data for the sample TEE is 401 ($code: $(cat "$TMP/idsample.out"))"

# Metrics count what happened.
curl -fsS "$URL_main/metrics" >"$TMP/metrics" 2>/dev/null && ok || bad "GET /metrics"
grep -q '^veil_kbs_releases_total{result="released"} [1-9]' "$TMP/metrics" && ok ||
	bad "metrics count releases"
grep -q '^veil_kbs_releases_total{result="denied"} [1-9]' "$TMP/metrics" && ok ||
	bad "metrics count denials"
grep -q '^veil_kbs_attestations_total{tee="sim",result="affirming"} [1-9]' "$TMP/metrics" && ok ||
	bad "metrics count affirming sim attestations"
grep -q '^veil_kbs_attestations_total{tee="sim",result="error"} [1-9]' "$TMP/metrics" && ok ||
	bad "metrics count refused attestations"
grep -q '^veil_kbs_attest_seconds_bucket{le="+Inf"} [1-9]' "$TMP/metrics" &&
	grep -q '^veil_kbs_resource_seconds_count [1-9]' "$TMP/metrics" && ok ||
	bad "metrics have latency histograms"

# SIGTERM stops the broker cleanly; its log holds no secret and no token.
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}"
[ $? -eq 0 ] && ok || bad "veil-kbs exits 0 on SIGTERM"
PIDS[0]=""
grep -q "$SECRET" "$TMP/main.log" && bad "the log contains the secret" || ok
grep '^{' "$TMP/main.log" | jq -e -s 'length > 10 and all(.ts and .event)' >/dev/null && ok ||
	bad "the log is one JSON object per request, with ts and event"
grep '^{' "$TMP/main.log" | jq -e -s 'any(.event == "attest" and .tee == "sim" and .result == "affirming")
	and any(.event == "attest.refused" and (.reason | length > 0))
	and any(.event == "resource" and .result == "denied")' >/dev/null && ok ||
	bad "the log records attestations, refusals with their reason, and denials"
grep -qE 'eyJ[A-Za-z0-9_-]{20,}' "$TMP/main.log" && bad "the log contains a token" || ok
grep -q "$SECRET" "$TMP/main.db" "$TMP/main.db-wal" 2>/dev/null && bad "the database holds the secret in plaintext" || ok

# Bad configuration is refused with exit 2 and a reason.
"$KBS_BIN" --db "$TMP/x.db" >/dev/null 2>"$TMP/err"; [ $? -eq 2 ] && grep -q "master-key" "$TMP/err" && ok ||
	bad "missing --master-key: exit 2 naming the flag"
"$KBS_BIN" --db "$TMP/main.db" --master-key "$TMP/expiring.key" --port 0 >/dev/null 2>"$TMP/err" &
p=$!
sleep 1
if kill -0 "$p" 2>/dev/null; then kill "$p"; bad "a store opened with another master key"; else
	wait "$p"; [ $? -eq 2 ] && ok || bad "another master key: exit 2"
fi
"$KBS_BIN" --db "$TMP/y.db" --master-key "$TMP/main.key" --policy "$TMP/rv.json" --port 0 \
	>/dev/null 2>"$TMP/err"; [ $? -eq 2 ] && ok || bad "an appraisal policy that does not parse: exit 2"
echo '{"version":1,"rules":[{"resources":"a/b/c"}]}' >"$TMP/bad-rp.json"
"$KBS_BIN" --db "$TMP/z.db" --master-key "$TMP/main.key" --resource-policy "$TMP/bad-rp.json" \
	--port 0 >/dev/null 2>"$TMP/err"; [ $? -eq 2 ] && grep -q "status" "$TMP/err" && ok ||
	bad "a resource policy rule without status: exit 2 naming it"

# The admin API and `veil kbs`: a fourth broker starts with only an admin
# key; everything else is configured through the API, survives a restart,
# and then passes the same client checks as the main broker.
check_rc() { # NAME WANT command...
	local name="$1" want="$2"
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else
		bad "$name: exit $rc, want $want"
		sed 's/^/    /' "$TMP/err" | head -5
	fi
}
check_rc "kbs keys" 0 "$VEIL" kbs keys --out "$TMP/admin"
[ "$(stat -c %a "$TMP/admin.jwk")" = 600 ] && ok || bad "the admin private key is 0600"
check_rc "kbs keys refuses to overwrite" 2 "$VEIL" kbs keys --out "$TMP/admin"
check_rc "kbs keys, another admin" 0 "$VEIL" kbs keys --type p256 --out "$TMP/intruder"
start admin --admin-key "$TMP/admin.pub.jwk"
A=(--url "$URL_admin" --admin-key "$TMP/admin.jwk")
check_rc "admin: put-resource" 0 "$VEIL" kbs put-resource "${A[@]}" default/model/key "$TMP/secret"
check_rc "admin: put-resource default/other/secret" 0 "$VEIL" kbs put-resource "${A[@]}" \
	default/other/secret "$TMP/other"
check_rc "admin: set-policy" 0 "$VEIL" kbs set-policy "${A[@]}" "$TMP/policy.json"
check_rc "admin: add-reference-values" 0 "$VEIL" kbs add-reference-values "${A[@]}" "$TMP/rv.json"
check_rc "admin: set-resource-policy" 0 "$VEIL" kbs set-resource-policy "${A[@]}" \
	"$TMP/resource-policy.json"
check_rc "admin: a policy that does not load is refused" 1 "$VEIL" kbs set-resource-policy \
	"${A[@]}" "$TMP/bad-rp.json"
grep -q "HTTP 400" "$TMP/err" && ok || bad "admin: the refusal says why"
check_rc "admin: another key's token is refused" 1 "$VEIL" kbs put-resource --url "$URL_admin" \
	--admin-key "$TMP/intruder.jwk" default/model/key "$TMP/other"
grep -q "HTTP 401" "$TMP/err" && ok || bad "admin: 401 for another key"
code="$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST --data-binary @"$TMP/other" \
	"$URL_admin/kbs/v0/resource/default/model/key")"
[ "$code" = 401 ] && grep -q 'errors/AdminAuth' "$TMP/body" && ok || bad "admin: no token is 401 ($code)"
# Tokens made by hand: expired, too long-lived, alg none, and a good one.
(cd tests/interop && ADMIN_JWK="$TMP/admin.jwk" node --input-type=module -e '
import * as jose from "jose";
import { readFileSync } from "node:fs";
const jwk = JSON.parse(readFileSync(process.env.ADMIN_JWK, "utf8"));
const key = await jose.importJWK(jwk, "EdDSA");
const now = Math.floor(Date.now() / 1000);
const sign = (c) => new jose.SignJWT({ aud: "veil-kbs-admin", ...c }).setProtectedHeader({ alg: "EdDSA" }).sign(key);
console.log(await sign({ iat: now - 600, exp: now - 300 }));
console.log(await sign({ iat: now, exp: now + 86400 }));
console.log(await sign({ iat: now, exp: now + 60, aud: "another-service" }));
console.log(Buffer.from(`{"alg":"none"}`).toString("base64url") + "." +
	Buffer.from(JSON.stringify({ exp: now + 60 })).toString("base64url") + ".");
console.log(await sign({ iat: now }));
console.log(await sign({ iat: now, exp: now + 60 }));
') >"$TMP/tokens" 2>"$TMP/err" && ok || bad "minting admin tokens with jose"
n=0
for want in 401 401 401 401 401 200; do
	n=$((n + 1))
	tok="$(sed -n "${n}p" "$TMP/tokens")"
	code="$(curl -s -o "$TMP/body" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $tok" \
		"$URL_admin/kbs/v0/resource/default/other/secret")"
	[ "$code" = "$want" ] && ok || bad "admin token $n (expired, a day ahead, another audience, alg none, no exp, good): $code, want $want"
done
check_rc "admin: delete of an absent resource is refused" 1 "$VEIL" kbs delete-resource "${A[@]}" \
	default/other/secret
check_rc "admin: put it back" 0 "$VEIL" kbs put-resource "${A[@]}" default/other/secret "$TMP/other"
# Restart on the same store with no policy flags: the admin's documents are in force.
kill -TERM "${PIDS[${#PIDS[@]} - 1]}"
wait "${PIDS[${#PIDS[@]} - 1]}" 2>/dev/null
rm -f "$TMP/admin.port"
start admin
KBS_URL="$URL_admin" KBS_EXPIRING_URL="$URL_expiring" KBS_DEFAULT_URL="$URL_default" \
	KBS_SAMPLE_URL="$URL_sample" KBS_SHORT_TOKEN_URL="$URL_short" VEIL="$VEIL" SIM_DIR="$S" WORKLOAD="$TMP/worker:$TMP/worker.json" WORKDIR="$TMP" \
	SECRET="$SECRET" node "$NODE_DIR/kbs_client.mjs" >"$TMP/client2.out" 2>&1
count_node_checks "$TMP/client2.out" "admin-configured: "
grep -q "admin API disabled" "$TMP/admin.log" && ok || bad "the log says the admin API is off"
"$KBS_BIN" --db "$TMP/w.db" --master-key "$TMP/main.key" --insecure-admin --port 0 \
	--port-file "$TMP/w.port" 2>"$TMP/w.log" &
p=$!
for _ in $(seq 1 100); do [ -s "$TMP/w.port" ] && break; sleep 0.05; done
kill "$p" 2>/dev/null
wait "$p" 2>/dev/null
grep -q "WARNING: --insecure-admin" "$TMP/w.log" && ok || bad "--insecure-admin warns at start"
"$KBS_BIN" --db "$TMP/w.db" --master-key "$TMP/main.key" --insecure-admin --listen 0.0.0.0 \
	--port 0 >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] && grep -q loopback "$TMP/err" && ok || bad "--insecure-admin is refused off loopback"

# Over TLS: the session cookie gets HttpOnly and Secure, and plain HTTP to
# the TLS port gets nowhere.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/tlscert.key" -out "$TMP/tlscert.pem" \
	>/dev/null 2>&1 && ok || bad "a TLS certificate for the test"
start tls --tls-cert "$TMP/tlscert.pem" --tls-key "$TMP/tlscert.key"
TLS_URL="https://127.0.0.1:$(cat "$TMP/tls.port")"
curl -s --cacert "$TMP/tlscert.pem" -D "$TMP/tls.hdr" -o "$TMP/tls.body" -H 'content-type: application/json' \
	--data '{"version":"0.4.0","tee":"sim","extra-params":""}' "$TLS_URL/kbs/v0/auth" &&
	grep -qi '^set-cookie: kbs-session-id=[0-9a-f]\{32\}; Expires=.*; HttpOnly; Secure' "$TMP/tls.hdr" &&
	ok || bad "over TLS the cookie is HttpOnly and Secure"
curl -s -m 3 -o /dev/null "http://127.0.0.1:$(cat "$TMP/tls.port")/healthz" &&
	bad "plain HTTP to the TLS port answered" || ok

finish
