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

KBS_BIN="${BUILD:-build}/veil-kbs"
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
finish() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	echo "kbs_sim: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
PIDS=()

command -v node >/dev/null || { bad "node is needed for the KBS client"; finish; }
[ -x "$KBS_BIN" ] || { bad "$KBS_BIN is missing: make check-tests"; finish; }
[ -f tests/interop/node_modules/jose/package.json ] ||
	(cd tests/interop && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
	{ bad "npm ci in tests/interop failed"; finish; }

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

# start NAME ARGS...: a broker on an ephemeral port; sets URL_<NAME>.
start() {
	local name="$1"
	shift
	local db="$TMP/$name.db" key="$TMP/$name.key"
	"$KBS_BIN" put-resource --db "$db" --master-key "$key" default/model/key "$TMP/secret" \
		2>/dev/null || true
	"$KBS_BIN" --db "$db" --master-key "$key" --create-master-key --port 0 \
		--port-file "$TMP/$name.port" "$@" 2>"$TMP/$name.log" &
	PIDS+=($!)
	for _ in $(seq 1 100); do
		[ -s "$TMP/$name.port" ] && break
		sleep 0.05
	done
	if [ ! -s "$TMP/$name.port" ]; then
		bad "$name broker did not start"
		sed 's/^/    /' "$TMP/$name.log" | head -5
		finish
	fi
	eval "URL_$name=http://127.0.0.1:$(cat "$TMP/$name.port")"
	ok
}

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

KBS_URL="$URL_main" KBS_EXPIRING_URL="$URL_expiring" KBS_DEFAULT_URL="$URL_default" \
	VEIL="$VEIL" SIM_DIR="$S" WORKLOAD="$TMP/worker:$TMP/worker.json" WORKDIR="$TMP" \
	SECRET="$SECRET" node tests/interop/kbs_client.mjs >"$TMP/client.out" 2>&1
rc=$?
while IFS= read -r line; do
	case "$line" in
	"ok "*) ok ;;
	"FAIL "*) echo "$line"; fail=$((fail + 1)) ;;
	*) echo "    $line" ;;
	esac
done <"$TMP/client.out"
[ "$rc" -eq 0 ] || grep -q '^FAIL ' "$TMP/client.out" || bad "kbs_client.mjs exited $rc"

# Metrics count what happened.
curl -fsS "$URL_main/metrics" >"$TMP/metrics" 2>/dev/null && ok || bad "GET /metrics"
grep -q '^veil_kbs_releases_total{result="released"} [1-9]' "$TMP/metrics" && ok ||
	bad "metrics count releases"
grep -q '^veil_kbs_releases_total{result="denied"} [1-9]' "$TMP/metrics" && ok ||
	bad "metrics count denials"

# SIGTERM stops the broker cleanly; its log holds no secret and no token.
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}"
[ $? -eq 0 ] && ok || bad "veil-kbs exits 0 on SIGTERM"
PIDS[0]=""
grep -q "$SECRET" "$TMP/main.log" && bad "the log contains the secret" || ok
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
finish
