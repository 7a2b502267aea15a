#!/usr/bin/env bash
# The simulated TEE end to end through the veil command: sim init, attest,
# verify, appraise affirming; then every way it must fail (another sim root,
# an altered measurement, debug when forbidden, stale evidence, wrong report
# data, sim not listed in the policy, the default policy), and the attest
# back ends this machine cannot offer failing clearly.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
# check NAME WANT-EXIT -- command...: exit code only, stderr kept for grep.
check() {
	local name="$1" want="$2"
	shift 3
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else
		bad "$name: exit $rc, want $want"
		sed 's/^/    /' "$TMP/err" | head -5
	fi
}

S="$TMP/sim" OTHER="$TMP/other"
check "sim init" 0 -- "$VEIL" sim init "$S"
check "sim init, other platform" 0 -- "$VEIL" sim init --gpus 2 "$OTHER"
check "sim init refuses a platform that exists" 2 -- "$VEIL" sim init "$S"
grep -q "not empty" "$TMP/err" && ok || bad "sim init: says why it refused"
check "sim init --gpus out of range" 2 -- "$VEIL" sim init --gpus 99 "$TMP/x"
[ ! -e "$TMP/x" ] && ok || bad "a refused init leaves nothing behind"
[ "$(stat -c %a "$S/platform.key")" = 600 ] && ok || bad "platform.key is mode 600"
[ "$(stat -c %a "$S/root.key")" = 600 ] && ok || bad "root.key is mode 600"
ROOT="$(cat "$S/root.sha256")"
[ "${#ROOT}" -eq 64 ] && ok || bad "root.sha256 holds a fingerprint"

# The workload: a "worker binary" and its configuration.
printf 'worker binary v1' >"$TMP/worker"
printf '{"model":"demo"}' >"$TMP/worker.json"
check "sim measure" 0 -- "$VEIL" sim measure "$TMP/worker" "$TMP/worker.json"
M="$(cat "$TMP/out")"
[ "${#M}" -eq 96 ] && ok || bad "sim measure prints SHA-384 hex"

RD=00112233445566778899aabbccddeeff
check "attest a bare sim report" 0 -- "$VEIL" attest --tee sim --sim "$S" \
	--workload "$TMP/worker" --workload "$TMP/worker.json" --report-data "$RD" --out "$TMP/r.bin"
expect "verify: genuine, bound to the report data" 0 \
	'.verified and .tee == "sim" and .claims.insecure and .claims.measurement == "'"$M"'"' -- \
	--tee sim --certs "$S/root.pem" --report-data "$RD" "$TMP/r.bin"
expect "verify: --sim-root works without --tee" 0 '.verified' -- \
	--sim-root "$S/root.pem" "$TMP/r.bin"
"$VEIL" verify --sim-root "$S/root.pem" "$TMP/r.bin" | grep -q "SIMULATED: INSECURE" &&
	ok || bad "verify: the text verdict says simulated and insecure"
expect "verify: wrong report data" 1 '[.checks[] | select(.ok|not) | .name] == ["report_data"]' -- \
	--tee sim --certs "$S/root.pem" --report-data 01 "$TMP/r.bin"
expect "verify: a root among --certs counts only with --tee sim" 1 \
	'.checks[] | select(.name == "sim.root") | .ok | not' -- --certs "$S/root.pem" "$TMP/r.bin"
mkdir -p "$TMP/coll" && cp "$S/root.pem" "$TMP/coll/"
expect "verify: a root in a collateral directory never counts" 1 \
	'.checks[] | select(.name == "sim.root") | .ok | not' -- --tee sim --collateral "$TMP/coll" "$TMP/r.bin"
expect "verify: --sim-root must be a self-signed certificate" 2 -- \
	--sim-root "$S/platform.pem" "$TMP/r.bin"
expect "verify: no sim root given" 1 '.checks[] | select(.name == "sim.root") | .ok | not' -- \
	"$TMP/r.bin"
expect "verify: another platform's root" 1 \
	'.checks[] | select(.name == "sim.root") | .ok | not' -- --tee sim --certs "$OTHER/root.pem" "$TMP/r.bin"
cp "$TMP/r.bin" "$TMP/tampered.bin"
printf '\x01' | dd of="$TMP/tampered.bin" bs=1 seek=$((0x20)) conv=notrunc status=none
expect "verify: altered measurement" 1 \
	'.checks[] | select(.name == "report.signature") | .ok | not' -- \
	--tee sim --certs "$S/root.pem" "$TMP/tampered.bin"
VEIL_SIM_DIR="$S" check "VEIL_SIM_DIR stands in for --sim" 0 -- \
	"$VEIL" attest --tee sim --report-data "$RD" --out "$TMP/r2.bin"

echo '{"nonce":"challenge-7","tee-pubkey":{"kty":"EC","crv":"P-256","x":"eA","y":"eQ"}}' >"$TMP/rt.json"
check "attest a bundle with the GPU" 0 -- "$VEIL" attest --tee sim --sim "$S" --gpu \
	--workload "$TMP/worker" --workload "$TMP/worker.json" --runtime-data "$TMP/rt.json" \
	--out "$TMP/ev.json"
expect "verify: the bundle, CPU and GPU bound" 0 \
	'.verified and .submods.cpu.tee == "sim" and .submods.gpu0.tee == "sim-gpu" and .submods.gpu0.claims.cc_mode == "on" and .claims.runtime_data.nonce == "challenge-7"' -- \
	--sim-root "$S/root.pem" "$TMP/ev.json"
expect "verify: --certs does not make a bundle's sim root trusted" 1 '.verified | not' -- \
	--certs "$S/root.pem" "$TMP/ev.json"

cat >"$TMP/policy.json" <<EOF
{"version": 1, "id": "sim-dev",
 "sim": {"roots": ["$ROOT"], "max_age_seconds": 300, "match": {"measurement": "workloads"},
         "min_tcb": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}},
 "gpu": {"required": true, "min_driver_version": "550.0"}}
EOF
cat >"$TMP/rv.json" <<EOF
{"version": 1, "expires": "2099-01-01T00:00:00Z", "sets": {"workloads": ["$M"]}}
EOF
AP=(appraise --policy "$TMP/policy.json" --reference-values "$TMP/rv.json")
jq 'del(.gpu)' "$TMP/policy.json" >"$TMP/policy-cpu.json"
APC=(appraise --policy "$TMP/policy-cpu.json" --reference-values "$TMP/rv.json")
expect_run "appraise: affirming, and insecure" 0 \
	'."veil.status" == "affirming" and ."veil.insecure" and .submods.cpu0."ear.status" == "affirming" and .submods.gpu0."ear.status" == "affirming"' -- \
	"${AP[@]}" "$TMP/ev.json"
expect_run "appraise: the bare report, CPU-only policy" 0 '."veil.status" == "affirming"' -- \
	"${APC[@]}" --report-data "$RD" "$TMP/r.bin"
expect_run "appraise: the bare report, policy requires a GPU" 1 \
	'."veil.status" == "contraindicated"' -- "${AP[@]}" --report-data "$RD" "$TMP/r.bin"
expect_run "appraise: wrong report data" 1 '."veil.status" != "affirming"' -- \
	"${APC[@]}" --report-data 01 "$TMP/r.bin"
expect_run "appraise: stale evidence" 1 \
	'.submods.cpu0."ear.status" != "affirming"' -- \
	"${AP[@]}" --at "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" "$TMP/ev.json"
expect_run "appraise: another platform's evidence" 1 '."veil.status" != "affirming"' -- \
	"${APC[@]}" --report-data "$RD" "$TMP/tampered.bin"
"$VEIL" attest --tee sim --sim "$OTHER" --workload "$TMP/worker" --workload "$TMP/worker.json" \
	--report-data "$RD" --out "$TMP/other.bin" 2>/dev/null
expect_run "appraise: a sim root the policy does not name" 1 \
	'.submods.cpu0."ear.status" == "contraindicated"' -- "${APC[@]}" "$TMP/other.bin"
"$VEIL" attest --tee sim --sim "$S" --workload "$TMP/worker" --report-data "$RD" \
	--out "$TMP/other-workload.bin" 2>/dev/null
expect_run "appraise: a workload not in the reference values" 1 \
	'.submods.cpu0."ear.trustworthiness-vector".executables >= 32' -- \
	"${APC[@]}" "$TMP/other-workload.bin"
expect_run "appraise: default policy denies" 1 '."veil.status" != "affirming"' -- \
	appraise "$TMP/ev.json"
echo '{"version": 1, "id": "snp-only", "snp": {}}' >"$TMP/snp-only.json"
expect_run "appraise: sim not listed in the policy" 1 \
	'.submods.cpu0."ear.status" == "contraindicated"' -- \
	appraise --policy "$TMP/snp-only.json" "$TMP/ev.json"
sed 's/2099-01-01/2020-01-01/' "$TMP/rv.json" >"$TMP/rv-expired.json"
expect_run "appraise: expired reference values" 1 '."veil.status" != "affirming"' -- \
	appraise --policy "$TMP/policy.json" --reference-values "$TMP/rv-expired.json" "$TMP/ev.json"
check "appraise: a policy that does not parse" 2 -- \
	"$VEIL" appraise --policy "$TMP/rv.json" "$TMP/ev.json"

# Debug: the platform now reports a debug guest.
sed -i 's/"debug": false/"debug": true/' "$S/platform.json"
check "attest a debug guest" 0 -- "$VEIL" attest --tee sim --sim "$S" \
	--workload "$TMP/worker" --workload "$TMP/worker.json" --report-data "$RD" --out "$TMP/debug.bin"
expect_run "appraise: debug forbidden" 1 \
	'.submods.cpu0."ear.trustworthiness-vector".configuration >= 96' -- \
	"${APC[@]}" "$TMP/debug.bin"
jq '.allow_debug = true' "$TMP/policy-cpu.json" >"$TMP/policy-debug.json"
expect_run "appraise: debug allowed by the policy" 0 '."veil.status" == "affirming"' -- \
	appraise --policy "$TMP/policy-debug.json" --reference-values "$TMP/rv.json" "$TMP/debug.bin"

# GPU state: CC off on the simulated GPU.
sed -i 's/"debug": true/"debug": false/; s/"cc_mode": "on"/"cc_mode": "off"/' "$S/platform.json"
"$VEIL" attest --tee sim --sim "$S" --gpu --workload "$TMP/worker" --workload "$TMP/worker.json" \
	--runtime-data "$TMP/rt.json" --out "$TMP/cc-off.json" 2>/dev/null
expect_run "appraise: GPU not in CC mode" 1 '.submods.gpu0."ear.status" == "contraindicated"' -- \
	"${AP[@]}" "$TMP/cc-off.json"

# Usage errors and back ends this machine does not have.
check "attest: no challenge" 2 -- "$VEIL" attest --tee sim --sim "$S"
check "attest: --gpu without runtime data" 2 -- "$VEIL" attest --tee sim --sim "$S" --gpu \
	--report-data "$RD"
check "attest: sim without a platform" 2 -- env -u VEIL_SIM_DIR "$VEIL" attest --tee sim \
	--report-data "$RD"
check "attest: hardware auto, no TEE here" 1 -- "$VEIL" attest --report-data "$RD" \
	--tsm-root "$TMP/no-tsm" --sev-guest "$TMP/no-sev" --tdx-guest "$TMP/no-tdx" --out "$TMP/hw.bin"
grep -q "configfs-tsm" "$TMP/err" && grep -q "sev-guest" "$TMP/err" && grep -q "tdx-guest" "$TMP/err" &&
	ok || bad "attest auto names every back end it tried"
[ ! -e "$TMP/hw.bin" ] && ok || bad "a failed attest writes no file"
check "attest: GPUs without NVML" 1 -- "$VEIL" attest --runtime-data "$TMP/rt.json" --gpu \
	--nvml "$TMP/no-libnvidia-ml.so.1" --out "$TMP/hw.bin"
grep -q "NVML\|nvidia-ml" "$TMP/err" && ok || bad "attest --gpu says NVML is missing"

# The KBS protocol's form: "additional-evidence" as a string, bound as is.
echo '{"additional-evidence":"","nonce":"n-kbs","tee-pubkey":{"kty":"EC","crv":"P-256","x":"eA","y":"eQ"}}' >"$TMP/rt-kbs.json"
check "attest: runtime data with a string additional-evidence" 0 -- "$VEIL" attest --tee sim \
	--sim "$S" --runtime-data "$TMP/rt-kbs.json" --out "$TMP/ev-kbs.json"
expect "verify: a bundle whose additional-evidence is the empty string" 0 \
	'.verified and (.submods | keys) == ["cpu"]' -- --sim-root "$S/root.pem" "$TMP/ev-kbs.json"
jq '.runtime_data["additional-evidence"] = "[]"' "$TMP/ev-kbs.json" >"$TMP/ev-kbs2.json"
expect "verify: another additional-evidence string breaks the binding" 1 '.verified | not' -- \
	--sim-root "$S/root.pem" "$TMP/ev-kbs2.json"
jq '.runtime_data["additional-evidence"] = "{"' "$TMP/ev-kbs.json" >"$TMP/ev-kbs3.json"
expect "verify: a string that is not JSON is malformed" 2 -- --sim-root "$S/root.pem" "$TMP/ev-kbs3.json"
check "attest: --gpu with runtime data that carries additional-evidence" 2 -- "$VEIL" attest \
	--tee sim --sim "$S" --gpu --runtime-data "$TMP/rt-kbs.json" --out "$TMP/x.json"
echo '{"additional-evidence":5,"nonce":"n"}' >"$TMP/rt-bad.json"
check "attest: additional-evidence that is neither string nor absent" 2 -- "$VEIL" attest \
	--tee sim --sim "$S" --runtime-data "$TMP/rt-bad.json" --out "$TMP/x.json"

echo "sim_loop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
