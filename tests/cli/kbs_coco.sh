#!/usr/bin/env bash
# veil-kbs and the evidence forms of Confidential Containers' guest
# components, on loopback with real daemons, driven with curl: a real TDX
# quote in CoCo's {"cc_eventlog", "quote"} object, a real SEV-SNP report in
# CoCo's serde form with its certificate table, and a real H100 report in
# CoCo's {"nvidia": {"device_evidence_list": [...]}} additional evidence.
# Real hardware signed other nonces, so each must verify up to its binding
# and be refused there, with the refusal naming the binding; altered
# evidence must fail earlier. Then tokens signed by a configured key whose
# certificate chain rides in the header (x5c), checked with jose.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/node.bash
. tests/cli/lib/kbs.bash

NODE_CHECKS_QUIET=1
[ -x "$KBS_BIN" ] || { bad "$KBS_BIN is missing: make check-tests"; finish; }
command -v jq >/dev/null || { bad "jq is needed"; finish; }

# Any well-formed P-256 key: the evidence here is refused before it matters.
KEY='{"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":"WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis","y":"y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}'

# body NONCE PRIMARY-JSON ADDITIONAL-STRING-FILE > FILE: an attest request.
body() {
	jq -n --arg n "$1" --argjson p "$2" --rawfile a "$3" --argjson k "$KEY" \
		'{"init-data": null, "runtime-data": {"nonce": $n, "tee-pubkey": $k},
		  "tee-evidence": {"primary_evidence": $p, "additional_evidence": $a}}'
}
: >"$TMP/none"

# TDX: verifies against the collateral, refused for its binding; an unknown
# member of the evidence object is refused by name.
mkdir -p "$TMP/tdxcoll" && cp "$TD/tdx/phala-dcap-qvl/tdx_quote_collateral.json" "$TMP/tdxcoll/"
echo '{"version": 1, "id": "tdx", "tdx": {}}' >"$TMP/tdx-policy.json"
start tdx --policy "$TMP/tdx-policy.json" --collateral "$TMP/tdxcoll"
nonce="$(kbs_auth "$URL_tdx" tdx "$TMP/tdx.jar")"
quote="$(base64 -w0 "$TD/tdx/phala-dcap-qvl/tdx_quote")"
body "$nonce" "{\"cc_eventlog\": null, \"quote\": \"$quote\"}" "$TMP/none" >"$TMP/tdx.attest"
code="$(kbs_attest "$URL_tdx" "$TMP/tdx.jar" "$TMP/tdx.attest" "$TMP/tdx.out")"
[ "$code" = 401 ] && jq -e '.detail | test("report_data|binding")' "$TMP/tdx.out" >/dev/null && ok ||
	bad "a real TDX quote in CoCo's form is refused for its binding ($code: $(cat "$TMP/tdx.out"))"
jq '."tee-evidence".primary_evidence.extra = 1' "$TMP/tdx.attest" >"$TMP/tdx.attest2"
code="$(kbs_attest "$URL_tdx" "$TMP/tdx.jar" "$TMP/tdx.attest2" "$TMP/tdx.out")"
[ "$code" = 401 ] && grep -q 'extra' "$TMP/tdx.out" && ok ||
	bad "a TDX evidence object with an unknown member is refused, naming it ($code)"

# SEV-SNP: Trustee's e2e evidence (a Genoa report and its VCEK in
# cert_chain, nothing else supplied): the signature and chain verify, the
# binding does not. A changed measurement breaks the signature; a missing
# member is named.
echo '{"version": 1, "id": "snp", "snp": {}}' >"$TMP/snp-policy.json"
start snp --policy "$TMP/snp-policy.json"
SNP_EV="$(jq -c . "$TD/snp/trustee/e2e-evidence.json")"
snp_attest() { # PRIMARY-JSON -> status; reply in $TMP/snp.out
	local n
	n="$(kbs_auth "$URL_snp" snp "$TMP/snp.jar")"
	body "$n" "$1" "$TMP/none" >"$TMP/snp.attest"
	kbs_attest "$URL_snp" "$TMP/snp.jar" "$TMP/snp.attest" "$TMP/snp.out"
}
code="$(snp_attest "$SNP_EV")"
[ "$code" = 401 ] && jq -e '.detail | test("cpu.report_data") and (test("signature|chain|vcek") | not)' \
	"$TMP/snp.out" >/dev/null && ok ||
	bad "a real SNP report in CoCo's form verifies up to its binding ($code: $(cat "$TMP/snp.out"))"
code="$(snp_attest "$(jq -c '.attestation_report.measurement[0] |= (. + 1) % 256' <<<"$SNP_EV")")"
[ "$code" = 401 ] && jq -e '.detail | test("cpu.report.signature")' "$TMP/snp.out" >/dev/null && ok ||
	bad "a changed measurement in CoCo's SNP form fails the signature ($code: $(cat "$TMP/snp.out"))"
code="$(snp_attest "$(jq -c 'del(.attestation_report.chip_id)' <<<"$SNP_EV")")"
[ "$code" = 401 ] && grep -q 'chip_id' "$TMP/snp.out" && ok ||
	bad "CoCo's SNP form without chip_id is refused, naming it ($code: $(cat "$TMP/snp.out"))"
code="$(snp_attest "$(jq -c '.cert_chain = null' <<<"$SNP_EV")")"
[ "$code" = 401 ] && jq -e '.detail | test("VCEK|VEK|certificate"; "i")' "$TMP/snp.out" >/dev/null &&
	ok || bad "CoCo's SNP form without its certificate table has no VCEK ($code: $(cat "$TMP/snp.out"))"

# NVIDIA: sim CPU evidence bound to CoCo's device map holding a real H100
# report. The GPU's chain and signature verify; its nonce is not ours.
S="$TMP/sim"
"$VEIL" sim init "$S" >/dev/null 2>&1 && ok || { bad "sim init"; finish; }
cat >"$TMP/sim-policy.json" <<JSON
{"version": 1, "id": "kbs-coco", "sim": {"roots": ["$(cat "$S/root.sha256")"]}}
JSON
start sim --policy "$TMP/sim-policy.json"
jq -j '{nvidia: {device_evidence_list: [.[0] | {arch: "HOPPER",
	uuid: "GPU-8d1f5a36-0b7e-4f1c-9a44-1f2e3d4c5b6a", evidence, certificate}]}} | tojson' \
	"$TD/nvidia/evidence_json/h100x1_ppcie_drv590.12_nonce_e97b.json" >"$TMP/gpus"
sim_attest() { # ADDITIONAL-STRING-FILE -> status; reply in $TMP/sim.out
	local n
	n="$(kbs_auth "$URL_sim" sim "$TMP/sim.jar")"
	jq -n --arg n "$n" --rawfile a "$1" --argjson k "$KEY" \
		'{"additional-evidence": $a, "nonce": $n, "tee-pubkey": $k}' >"$TMP/sim.rt"
	"$VEIL" attest --tee sim --sim "$S" --runtime-data "$TMP/sim.rt" --out "$TMP/sim.ev" \
		2>/dev/null || return 1
	body "$n" "$(jq -c .primary_evidence "$TMP/sim.ev")" "$1" >"$TMP/sim.attest"
	kbs_attest "$URL_sim" "$TMP/sim.jar" "$TMP/sim.attest" "$TMP/sim.out"
}
code="$(sim_attest "$TMP/gpus")"
[ "$code" = 401 ] && jq -e '.detail | test("binding.device") and test("gpu0.report_data") and
	(test("gpu0.(report.signature|gpu.chain)") | not)' "$TMP/sim.out" >/dev/null && ok ||
	bad "a real H100 report in CoCo's device map verifies up to its nonce ($code: $(cat "$TMP/sim.out"))"
jq -j '{nvidia: {device_evidence_list: [.[0] | {arch: "LS10", uuid: "unknown", evidence,
	certificate}]}} | tojson' "$TD/nvidia/evidence_json/h100x1_ppcie_drv590.12_nonce_e97b.json" \
	>"$TMP/switch"
code="$(sim_attest "$TMP/switch")"
[ "$code" = 401 ] && grep -q 'LS10' "$TMP/sim.out" && ok ||
	bad "an NVSwitch in CoCo's device map is refused, naming it ($code: $(cat "$TMP/sim.out"))"
code="$(sim_attest "$TMP/none")"
[ "$code" = 200 ] && jq -e '.token | split(".") | length == 3' "$TMP/sim.out" >/dev/null && ok ||
	bad "the same sim evidence without devices gets a token ($code: $(cat "$TMP/sim.out"))"

# Tokens signed by a configured key whose chain rides in the header. The
# broker refuses to start with a chain that does not vouch for the key.
openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/ca.key" 2>/dev/null &&
	openssl req -x509 -new -key "$TMP/ca.key" -subj "/CN=Token CA" -days 30 \
		-out "$TMP/ca.pem" 2>/dev/null &&
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/tok.key" 2>/dev/null &&
	openssl req -new -key "$TMP/tok.key" -subj "/CN=veil-kbs token" -out "$TMP/tok.csr" &&
	openssl x509 -req -in "$TMP/tok.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
		-CAcreateserial -days 7 -out "$TMP/tok.pem" 2>/dev/null &&
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/other.key" 2>/dev/null &&
	ok || { bad "making the token certificates with openssl"; finish; }
cat "$TMP/tok.pem" "$TMP/ca.pem" >"$TMP/chain.pem"
cat "$TMP/ca.pem" "$TMP/tok.pem" >"$TMP/reversed.pem"
refused() { # WHY GREP ARGS...: the broker exits 2 at start, saying GREP
	local why="$1" want="$2"
	shift 2
	timeout 10 "$KBS_BIN" --db "$TMP/refused.db" --master-key "$TMP/refused.key" \
		--create-master-key --port 0 "$@" 2>"$TMP/refused.err"
	[ $? -eq 2 ] && grep -q "$want" "$TMP/refused.err" && ok ||
		bad "$why: $(head -c 300 "$TMP/refused.err")"
}
refused "a chain for another key" "not for the token key" \
	--token-key "$TMP/other.key" --token-cert "$TMP/chain.pem"
refused "a chain in the wrong order" "not for the token key" \
	--token-key "$TMP/tok.key" --token-cert "$TMP/reversed.pem"
cat "$TMP/tok.pem" "$TMP/tok.pem" >"$TMP/twice.pem"
refused "a chain whose next certificate is not the issuer" "not issued by the next one" \
	--token-key "$TMP/tok.key" --token-cert "$TMP/twice.pem"
refused "--token-cert without --token-key" "needs --token-key" --token-cert "$TMP/chain.pem"
refused "a token key that is not a key" "neither a private JWK nor a PEM" \
	--token-key "$TMP/ca.pem"
start signed --policy "$TMP/sim-policy.json" --token-key "$TMP/tok.key" --token-cert "$TMP/chain.pem"
URL_sim="$URL_signed"
code="$(sim_attest "$TMP/none")"
if [ "$code" = 200 ] && jq -r .token "$TMP/sim.out" >"$TMP/token"; then
	ok
	node_require "the x5c check" && npm_packages_ready &&
		run_node_checks "$NODE_DIR/kbs_token_x5c.mjs" "$TMP/token" "$TMP/tok.pem"
else
	bad "a handshake with the certificate-signed broker ($code: $(cat "$TMP/sim.out"))"
fi
finish
