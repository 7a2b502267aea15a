#!/usr/bin/env bash
# The main job until the whole system exists. First the attestation loop on
# the simulated TEE (sim init, attest with a GPU, verify, appraise: affirming,
# then refused by the default policy and for a changed workload), and the
# key broker releasing a model key to that worker and refusing another; then
# `veil verify` and `veil appraise` on real evidence from real hardware in the
# shared test data: AMD SEV-SNP reports from Milan (a debug guest) and Turin,
# an Intel TDX quote with its Intel collateral, a tampered copy that must be
# refused, and an NVIDIA H100 GPU report with its RIMs.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-setup" ]; then
	bash scripts/setup.sh || exit 1
	make -s -j"$(nproc)" all || exit 1
fi
VEIL="${BUILD:-build}/veil"
TD="${VEIL_TESTDATA:-../shared/testdata}"
[ -d "$TD" ] || { echo "demo: test data not found at $TD (set VEIL_TESTDATA)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

run() {
	echo
	echo "\$ veil verify $*"
	"$VEIL" verify "$@"
	echo "(exit $?)"
}

say() {
	echo
	echo "\$ veil $*"
	"$VEIL" "$@"
	echo "(exit $?)"
}
ear() { # the EAR, without the annotated evidence
	echo
	echo "\$ veil $*"
	"$VEIL" "$@" | jq '{"veil.status", "veil.insecure", submods: (.submods | map_values(
		{"ear.status", "ear.trustworthiness-vector", "veil.reasons"}))}'
	echo "(exit ${PIPESTATUS[0]})"
}

echo "== The simulated TEE: a platform with one GPU, a worker binary and its configuration"
say sim init "$tmp/sim"
printf 'worker binary' >"$tmp/worker" && printf '{"model":"demo"}' >"$tmp/worker.json"
say sim measure "$tmp/worker" "$tmp/worker.json"
echo '{"nonce":"demo-challenge-1","tee-pubkey":{"kty":"EC","crv":"P-256","x":"eA","y":"eQ"}}' \
	>"$tmp/rt.json"
echo
echo "== Attest: GPU report for the nonce derived from the runtime data, then the CPU report"
echo "   with SHA-384(JCS(runtime data)) in REPORT_DATA, as one bundle"
say attest --tee sim --sim "$tmp/sim" --gpu --runtime-data "$tmp/rt.json" \
	--workload "$tmp/worker" --workload "$tmp/worker.json" --out "$tmp/ev.json"
say verify --sim-root "$tmp/sim/root.pem" "$tmp/ev.json" | grep -v '^      measurements\|^  runtime_data'
jq --arg root "$(cat "$tmp/sim/root.sha256")" \
	'.sim.roots = [$root] | .sim.match = {"measurement": "sim-workloads"}' \
	examples/policies/sim-dev.json >"$tmp/policy.json"
jq -n --arg m "$("$VEIL" sim measure "$tmp/worker" "$tmp/worker.json")" \
	--arg exp "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" \
	'{version: 1, expires: $exp, sets: {"sim-workloads": [$m]}}' >"$tmp/rv.json"
echo
echo "== Appraise under a policy that names this sim root and the workload's measurement"
ear appraise --policy "$tmp/policy.json" --reference-values "$tmp/rv.json" "$tmp/ev.json"
echo
echo "== The same evidence under the default policy: nothing is accepted until configured"
ear appraise "$tmp/ev.json"
echo
echo "== Another workload (only the binary, no configuration): not the expected measurement"
"$VEIL" attest --tee sim --sim "$tmp/sim" --gpu --runtime-data "$tmp/rt.json" \
	--workload "$tmp/worker" --out "$tmp/ev2.json"
ear appraise --policy "$tmp/policy.json" --reference-values "$tmp/rv.json" "$tmp/ev2.json"

echo
echo "== The key broker: veil-kbs on loopback, configured through its admin API, releases a"
echo "   model key only to the sim worker whose evidence the policy affirms"
KBS="${BUILD:-build}/veil-kbs"
say kbs keys --out "$tmp/admin"
"$KBS" --db "$tmp/kbs.db" --master-key "$tmp/kbs.key" --create-master-key --port 0 \
	--port-file "$tmp/kbs.port" --admin-key "$tmp/admin.pub.jwk" 2>"$tmp/kbs.log" &
kbs_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/kbs.port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$tmp/kbs.port")"
printf 'the model key\n' >"$tmp/model.key"
printf '{"version":1,"rules":[{"resources":"default/model/*","status":["affirming"],"tee":["sim"],"allow_insecure":true}]}' \
	>"$tmp/resource-policy.json"
A=(--url "$url" --admin-key "$tmp/admin.jwk")
# veil kbs fetch attests the CPU only: the same policy without its GPU rule.
jq 'del(.gpu)' "$tmp/policy.json" >"$tmp/kbs-policy.json"
say kbs set-policy "${A[@]}" "$tmp/kbs-policy.json"
say kbs add-reference-values "${A[@]}" "$tmp/rv.json"
say kbs set-resource-policy "${A[@]}" "$tmp/resource-policy.json"
say kbs put-resource "${A[@]}" default/model/key "$tmp/model.key"
echo
echo "== The worker: auth, sim evidence bound to the broker's nonce and a fresh key, attest,"
echo "   then the key as a JWE to that key, decrypted in memory"
say kbs fetch --url "$url" --sim "$tmp/sim" --workload "$tmp/worker" --workload "$tmp/worker.json" \
	default/model/key
echo
echo "== Another workload asks for the same key: refused"
say kbs fetch --url "$url" --sim "$tmp/sim" --workload "$tmp/worker" default/model/key
kill -TERM "$kbs_pid"
wait "$kbs_pid" 2>/dev/null

echo
echo "== AMD SEV-SNP, Milan, debug guest: genuine, and the claims say debug=true"
run --at 2023-01-01T00:00:00Z --certs "$TD/snp/go-sev-guest/vcek.testcer" \
	"$TD/snp/go-sev-guest/attestation.bin"

echo
echo "== The same genuine report appraised under examples/policies/snp.json: debug is forbidden,"
echo "   its TCB is below the minimum and its measurement is not a reference value"
ear appraise --policy examples/policies/snp.json \
	--reference-values examples/reference-values/workloads.json --at 2023-01-01T00:00:00Z \
	--certs "$TD/snp/go-sev-guest/vcek.testcer" "$TD/snp/go-sev-guest/attestation.bin"

echo
echo "== AMD SEV-SNP, Turin, report version 5"
run --at 2026-09-01T00:00:00Z --certs "$TD/snp/tinfoil-go-AGPL/box2_turin_vcek.DERIVED.der" \
	"$TD/snp/tinfoil-go-AGPL/box2_turin_report.DERIVED.bin"

echo
echo "== Intel TDX quote v4 with Intel collateral: genuine, TCB status UpToDate"
run --at 2025-07-19T10:00:34Z --certs "$TD/tdx/phala-dcap-qvl/tdx_quote_collateral.json" \
	"$TD/tdx/phala-dcap-qvl/tdx_quote"

echo
echo "== The same SNP report with one bit of the measurement flipped: refused"
cp "$TD/snp/trustee/test-report.bin" "$tmp/tampered.bin" && chmod u+w "$tmp/tampered.bin"
printf '\x01' | dd of="$tmp/tampered.bin" bs=1 seek=$((0x90)) conv=notrunc status=none
run --at 2024-01-01T00:00:00Z --certs "$TD/snp/trustee/test-vcek.der" "$tmp/tampered.bin"

echo
echo "== NVIDIA H100 GPU report, driver 545.00, with its driver and VBIOS RIMs:"
echo "   chain to NVIDIA's root, signature, nonce and every golden measurement."
echo "   Offline there is no OCSP response, so revocation status is unknown: refused"
echo "   by default (fail closed), then accepted explicitly, which the claims record."
N="$TD/nvidia"
run --at 2025-03-01T00:00:00Z --certs "$N/hopper/h100_drv545.00_certchain.pem" \
	--rims "$N/rims" --nonce 4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e \
	"$N/hopper/h100_drv545.00_vb96.00.5E.00.01_report.hex" | grep -v '^  measurement'
run --at 2025-03-01T00:00:00Z --certs "$N/hopper/h100_drv545.00_certchain.pem" \
	--rims "$N/rims" --nonce 4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e \
	--allow-unknown-revocation "$N/hopper/h100_drv545.00_vb96.00.5E.00.01_report.hex" |
	grep -v '^  measurement'
