#!/usr/bin/env bash
# Conformance of `veil verify` on the NVIDIA GPU evidence in the shared test
# data: every report and certificate chain, the RIMs, NVIDIA's serialized
# evidence lists, with the verdicts nvidia/SOURCES.md gives at a time inside
# the RIM signers' validity (2025-03-01), plus derived negatives and
# evidence bundles whose bindings do not hold. Drives the real binary and
# checks exit codes and the --json output with jq.
set -uo pipefail

. "$(dirname "$0")/lib/expect.bash"
NV="$TD/nvidia"
H="$NV/hopper"
B="$NV/blackwell"
RIMS="$NV/rims"
AT=2025-03-01T00:00:00Z
N931=931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb
N545=4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e

# jq helpers: the names of the failed checks, and "check X passed".
DEFS='def failed: [.checks[] | select(.ok|not) | .name] | sort;
      def ok($n): any(.checks[]; .name == $n and .ok);'

unhex() { tr -d ' \n\r' <"$1" | perl -ne 'print pack("H*", $_)'; }

# ---- the offline end-to-end vector: H100, driver 545.00, its two RIMs ----
R545="$H/h100_drv545.00_vb96.00.5E.00.01_report.hex"
C545="$H/h100_drv545.00_certchain.pem"
expect nv.545.e2e 0 "$DEFS"' .verified and .tee == "nvidia" and failed == [] and .claims.measurements_match and .claims.arch == "Hopper" and .claims.ocsp.gpu == "unknown" and .claims.revocation_policy == "allow-unknown" and (.claims.vbios_rim | endswith("test_no_gpu.swidtag"))' -- \
	--tee nvidia --certs "$C545" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce $N545 "$R545"
expect nv.545.auto_detect 0 '.verified and .tee == "nvidia"' -- \
	--certs "$C545" --rims "$RIMS" --allow-unknown-revocation --at $AT "$R545"
expect nv.545.revocation_required 1 "$DEFS"' failed == ["driver_rim.revocation", "gpu.revocation", "vbios_rim.revocation"] and .claims.revocation_policy == "require"' -- \
	--certs "$C545" --rims "$RIMS" --at $AT --nonce $N545 "$R545"
expect nv.545.now_rims_expired 1 "$DEFS"' failed == ["driver_rim.chain", "vbios_rim.chain"]' -- \
	--certs "$C545" --rims "$RIMS" --allow-unknown-revocation --at 2026-11-21T00:00:00Z "$R545"
expect nv.545.wrong_nonce 1 "$DEFS"' failed == ["report_data"]' -- \
	--certs "$C545" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce $N931 "$R545"
expect nv.545.no_rims 1 "$DEFS"' failed == ["driver_rim", "vbios_rim"] and (.checks[] | select(.name == "driver_rim") | .detail | test("--rims"))' -- \
	--certs "$C545" --allow-unknown-revocation --at $AT "$R545"
expect nv.545.no_chain 1 "$DEFS"' (failed | index("gpu.chain")) != null and (failed | index("report.signature")) != null' -- \
	--rims "$RIMS" --allow-unknown-revocation --at $AT "$R545"
unhex "$R545" >"$TMP/r545.bin"
base64 -w0 "$TMP/r545.bin" >"$TMP/r545.b64"
expect nv.545.raw 0 '.verified' -- --certs "$C545" --rims "$RIMS" --allow-unknown-revocation --at $AT "$TMP/r545.bin"
expect nv.545.base64 0 '.verified' -- --certs "$C545" --rims "$RIMS" --allow-unknown-revocation --at $AT "$TMP/r545.b64"
expect nv.545.stdin 0 '.verified' -- --certs "$C545" --rims "$RIMS" --allow-unknown-revocation --at $AT - <"$R545"
# A byte flipped in measurement block 8 (driver RIM index 7).
cp "$TMP/r545.bin" "$TMP/flip.bin"
printf '\xff' | dd of="$TMP/flip.bin" bs=1 seek=$((37 + 8 + 7 * 55 + 7)) conv=notrunc status=none
expect nv.545.flipped_measurement 1 "$DEFS"' failed == ["driver_rim.measurements", "report.signature"]' -- \
	--certs "$C545" --rims "$RIMS" --allow-unknown-revocation --at $AT "$TMP/flip.bin"

# ---- every other report with its own chain: genuine, RIMs decide ----
expect nv.550 1 "$DEFS"' ok("gpu.chain") and ok("report.signature") and ok("gpu.fwid") and ok("report_data") and failed == ["driver_rim", "vbios_rim"] and .claims.ueid == "478176379286082186618948445787393647364802107249" and .claims.hwmodel == "GH100 A01 GSP BROM"' -- \
	--certs "$H/h100_drv550.90.07_certchain.pem" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce $N931 "$H/h100_drv550.90.07_vb96.00.9F.00.01_report.hex"
expect nv.580.159 1 "$DEFS"' ok("gpu.fwid") and ok("report.signature") and failed == ["driver_rim", "vbios_rim.measurements"] and (.checks[] | select(.name == "vbios_rim.measurements") | .detail | test("index 9$")) and .claims.ueid == "509096176156678437554566035365892618958504054724" and .claims.opaque_data_version == 1 and .claims.cc_feature == "spt"' -- \
	--certs "$H/h100_drv580.159.03_certchain.pem" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce 5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca "$H/h100_drv580.159.03_vb96.00.74.00.20_report.hex"
expect nv.535.negative_rims 1 "$DEFS"' ok("report.signature") and ok("vbios_rim.measurements") and failed == ["driver_rim.chain", "driver_rim.measurements", "driver_rim.signature"]' -- \
	--certs "$H/h100_drv535.86.09_certchain.pem" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce 27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66 "$H/h100_drv535.86.09_vb96.00.5E.00.01_report.hex"
expect nv.535.zero_nonce 1 "$DEFS"' failed | index("report_data") != null' -- \
	--certs "$H/h100_drv535.86.09_certchain.pem" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce 0000000000000000000000000000000000000000000000000000000000000000 "$H/h100_drv535.86.09_vb96.00.5E.00.01_report.hex"
expect nv.570.expired_driver_rim 1 "$DEFS"' ok("report.signature") and ok("gpu.chain") and ok("gpu.fwid") and (failed | index("driver_rim.chain")) != null and (.checks[] | select(.name == "driver_rim.chain") | .detail | test("expired"))' -- \
	--certs "$H/h100_drv570.124.03_certchain.pem" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce $N931 "$H/h100_drv570.124.03_vb96.00.5E.00.04_report.hex"
expect nv.560.bad_signature 1 "$DEFS"' ok("gpu.chain") and (failed | index("report.signature")) != null and .claims.protected_pcie and .claims.switch_pdi_count == 18' -- \
	--certs "$H/h100_drv570.124.03_certchain.pem" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce $N931 "$H/h100_drv560.00_ppcie_BADSIG_report.hex"
expect nv.580.95.trailing_zero 1 "$DEFS"' ok("report.signature") and ok("gpu.fwid") and .claims.trailing_bytes == 1' -- \
	--certs "$H/h100_drv580.95.05_certchain.pem" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce 87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec "$H/h100_drv580.95.05_trailing00_report.hex"
unhex "$H/h100_drv580.95.05_trailing00_report.hex" >"$TMP/t.bin"
printf '\x01' >>"$TMP/t.bin"
expect nv.580.95.trailing_nonzero 2 '.error | test("after the signature")' -- --tee nvidia "$TMP/t.bin"
expect nv.550.missing_ica 1 "$DEFS"' (failed | index("gpu.chain")) != null' -- \
	--certs "$H/h100_drv550.90.07_certchain_MISSING_ICA.pem" --allow-unknown-revocation --at $AT "$H/h100_drv550.90.07_vb96.00.9F.00.01_report.hex"
expect nv.550.missing_leaf 1 "$DEFS"' (failed | index("gpu.fwid")) != null and (.checks[] | select(.name == "gpu.fwid") | .detail | test("no FWID"))' -- \
	--certs "$H/h100_drv550.90.07_certchain_MISSING_LEAF.pem" --allow-unknown-revocation --at $AT "$H/h100_drv550.90.07_vb96.00.9F.00.01_report.hex"
expect nv.gb100 1 "$DEFS"' ok("gpu.chain") and ok("report.signature") and ok("gpu.fwid") and ok("report_data") and .claims.arch == "Blackwell" and .claims.chip == "GB100" and failed == ["driver_rim", "vbios_rim"]' -- \
	--certs "$B/gb100_drv575.32_certchain.pem" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce $N931 "$B/gb100_drv575.32_vb97.00.88.00.0F_report.hex"
expect nv.gb202 1 "$DEFS"' ok("gpu.chain") and ok("report.signature") and ok("gpu.fwid") and ok("report_data") and .claims.chip == "GB202" and .claims.nvdec0_status == 170 and failed == ["driver_rim", "vbios_rim"]' -- \
	--certs "$B/gb202_rtxpro6000_drv595.58.03_certchain.pem" --rims "$RIMS" --allow-unknown-revocation --at $AT --nonce $N545 "$B/gb202_rtxpro6000_drv595.58.03_vb98.02.81.00.01_report.hex"
# A look-alike certificate inserted after the leaf does not name the device.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$TMP/k.pem" \
	-subj "/CN=GH100 FAKE-MODEL BROM" -days 30 -out "$TMP/fake.pem" 2>/dev/null
{ openssl x509 -in "$H/h100_drv550.90.07_certchain.pem"; cat "$TMP/fake.pem"; cat "$H/h100_drv550.90.07_certchain.pem"; } >"$TMP/lookalike.pem"
expect nv.550.hwmodel_from_verified_issuer 1 '.claims.hwmodel == "GH100 A01 GSP BROM"' -- \
	--certs "$TMP/lookalike.pem" --allow-unknown-revocation --at $AT "$H/h100_drv550.90.07_vb96.00.9F.00.01_report.hex"
# A chain of another GPU: its FWID and key differ.
expect nv.gb100.wrong_chain 1 "$DEFS"' (failed | index("report.signature")) != null and (failed | index("gpu.fwid")) != null' -- \
	--certs "$C545" --allow-unknown-revocation --at $AT "$B/gb100_drv575.32_vb97.00.88.00.0F_report.hex"

# ---- NVIDIA's serialized evidence lists: one submodule per GPU ----
SUBS_GENUINE='([.submods[] | (any(.checks[]; .name == "gpu.chain" and .ok) and any(.checks[]; .name == "report.signature" and .ok) and any(.checks[]; .name == "gpu.fwid" and .ok))] | all)'
for f in "$NV"/evidence_json/*.json; do
	name="$(basename "$f" .json)"
	count=$(jq length "$f")
	expect "nv.list.$name" 1 "$SUBS_GENUINE"' and (.submods | length) == '"$count"' and ([.checks[] | select(.name == "declared_nonce") | .ok] | all) and (.verified | not)' -- \
		--rims "$RIMS" --allow-unknown-revocation --at $AT "$f"
done
expect nv.list.nonce 1 '([.submods[] | any(.checks[]; .name == "report_data" and .ok)] | all)' -- \
	--rims "$RIMS" --allow-unknown-revocation --at $AT --nonce 4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e "$NV/evidence_json/h100x8_ppcie_drv590.12_nonce_4760.json"
expect nv.list.wrong_nonce 1 '([.submods[] | any(.checks[]; .name == "report_data" and (.ok | not))] | all)' -- \
	--allow-unknown-revocation --at $AT --nonce $N931 "$NV/evidence_json/h100x4_ppcie_drv590.12_nonce_e97b.json"
jq '.[0].nonce = "'$N931'"' "$NV/evidence_json/h100x1_ppcie_drv590.12_nonce_e97b.json" >"$TMP/declared.json"
expect nv.list.declared_nonce_differs 1 '[.checks[] | select(.name == "declared_nonce") | .ok] == [false]' -- \
	--allow-unknown-revocation --at $AT "$TMP/declared.json"
jq '.[0].extra = 1' "$NV/evidence_json/h100x1_ppcie_drv590.12_nonce_e97b.json" >"$TMP/extra.json"
expect nv.list.unknown_member 2 '.error | test("extra")' -- --at $AT "$TMP/extra.json"
jq '. + .' "$NV/evidence_json/h100x1_ppcie_drv590.12_nonce_e97b.json" >"$TMP/twice.json"
expect nv.list.same_gpu_twice 1 '[.checks[] | select(.name == "devices.distinct") | .ok] == [false]' -- \
	--allow-unknown-revocation --at $AT "$TMP/twice.json"
expect nv.list.distinct 1 '[.checks[] | select(.name == "devices.distinct") | .ok] == [true]' -- \
	--allow-unknown-revocation --at $AT "$NV/evidence_json/h100x4_ppcie_drv590.12_nonce_e97b.json"
expect nv.list.report_data_refused 2 '.error | test("--report-data")' -- \
	--report-data 00112233 "$NV/evidence_json/h100x4_ppcie_drv590.12_nonce_e97b.json"
echo '[]' >"$TMP/empty.json"
expect nv.list.empty 2 '.error | test("empty")' -- "$TMP/empty.json"

# ---- NVIDIA's own attestation token for the 550.90.07 report agrees ----
TOKEN="$NV/tokens/nras_prod_detached_eat_h100_drv550.90.07_nonce_931d.json"
gpu0="$(jq -r '.[1]["GPU-0"]' "$TOKEN" | cut -d. -f2 | tr '_-' '/+')"
while [ $((${#gpu0} % 4)) -ne 0 ]; do gpu0="$gpu0="; done
base64 -d <<<"$gpu0" >"$TMP/nras.json"
"$VEIL" verify --json --certs "$H/h100_drv550.90.07_certchain.pem" --allow-unknown-revocation --at $AT \
	"$H/h100_drv550.90.07_vb96.00.9F.00.01_report.hex" >"$TMP/ours.json" 2>/dev/null
if jq -e --slurpfile t "$TMP/nras.json" '.claims.ueid == $t[0].ueid and .claims.hwmodel == $t[0].hwmodel and .claims.driver_version == $t[0]["x-nvidia-gpu-driver-version"] and .claims.vbios_version == $t[0]["x-nvidia-gpu-vbios-version"] and .claims.nonce == $t[0].eat_nonce' "$TMP/ours.json" >/dev/null; then
	pass=$((pass + 1))
else
	echo "FAIL nv.550.nras_token: claims differ from NVIDIA's token"
	fail=$((fail + 1))
fi

# ---- evidence bundles: every binding is checked ----
SNPR="$TD/snp/trustee/test-report.bin"
SNPV="$TD/snp/trustee/test-vcek.der"
bundle() { # bundle OUT [jq edits]
	jq -n --arg p "$(base64 -w0 "$SNPR")" --arg v "$(base64 -w0 "$SNPV")" \
		--arg g "$(base64 -w0 "$TMP/r545.bin")" --arg c "$(base64 -w0 "$C545")" \
		'{version: 1, tee: "snp", primary_evidence: $p, collateral: [$v],
		  runtime_data: {nonce: "challenge", "tee-pubkey": {kty: "EC", crv: "P-256", x: "x", y: "y"},
		                 "additional-evidence": [{type: "nvidia", evidence: $g, certificate: $c}]}} '"${2:-}" >"$1"
}
bundle "$TMP/bundle.json"
expect bundle.real_parts_unbound 1 '.tee == "bundle" and (.verified | not) and (.submods | keys) == ["cpu", "gpu0"] and ([.submods.cpu.checks[] | select(.ok|not) | .name] == ["report_data"]) and ([.submods.gpu0.checks[] | select(.ok|not) | .name] | index("report_data")) != null and any(.submods.gpu0.checks[]; .name == "report.signature" and .ok)' -- \
	--rims "$RIMS" --allow-unknown-revocation --at 2024-01-01T00:00:00Z "$TMP/bundle.json"
expect bundle.runtime_data_claim 1 '.claims.runtime_data.nonce == "challenge"' -- --at 2024-01-01T00:00:00Z "$TMP/bundle.json"
expect bundle.nonce_refused 2 '.error | test("runtime_data")' -- --nonce $N545 "$TMP/bundle.json"
bundle "$TMP/b.json" '| .runtime_data["additional-evidence"] += .runtime_data["additional-evidence"]'
expect bundle.same_gpu_twice 1 '[.checks[] | select(.name == "devices.distinct") | .ok] == [false]' -- \
	--rims "$RIMS" --allow-unknown-revocation --at 2024-01-01T00:00:00Z "$TMP/b.json"
bundle "$TMP/b.json" '| .tee = "nvidia"'
expect bundle.gpu_as_primary 2 '.error | test("CPU TEE")' -- "$TMP/b.json"
bundle "$TMP/b.json" '| .extra = true'
expect bundle.unknown_member 2 '.error | test("extra")' -- "$TMP/b.json"
bundle "$TMP/b.json" '| .runtime_data["additional-evidence"][0].type = "tpm"'
expect bundle.unknown_device 2 '.error | test("tpm")' -- "$TMP/b.json"
bundle "$TMP/b.json" '| .primary_evidence = "%%%"'
expect bundle.bad_base64 2 '.error | test("primary_evidence")' -- "$TMP/b.json"
bundle "$TMP/b.json" '| del(.runtime_data["tee-pubkey"])'
expect bundle.no_pubkey 2 '.error | test("tee-pubkey")' -- "$TMP/b.json"
bundle "$TMP/b.json" '| .version = 2'
expect bundle.version 2 '.error | test("version")' -- "$TMP/b.json"

# ---- usage errors ----
expect usage.nonce_length 2 '.error | test("32 bytes")' -- --nonce abcd "$R545"
expect usage.nonce_and_report_data 2 '.error | test("alternatives")' -- --nonce $N545 --report-data 00 "$R545"
expect usage.json_with_tee 2 '.error | test("does not apply")' -- --tee snp "$TMP/bundle.json"
expect usage.missing_rims 2 '.error | test("--rims")' -- --rims "$TMP/no-such-dir" "$R545"
expect usage.snp_as_nvidia 2 '.error != null' -- --tee nvidia "$SNPR"
expect usage.report_data_for_gpu 2 '.error | test("--nonce")' -- --report-data 00 "$R545"

echo "verify_nvidia: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
