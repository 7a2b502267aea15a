#!/usr/bin/env bash
# veil host-check on the fixture trees (docs/host-check.md): the exit code
# of every host, the JSON report's shape, the table, a report signed with
# --sign and checked with --verify-report, and the refusals: a tampered
# report, "alg":"none", another key, an old report, usage. NVML is a
# library that does not exist and no GPU is required, so the GPU checks
# never decide the verdict here (tests/test_hostcheck_gpu.c does them).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash

H=tests/fixtures/hosts
NO_NVML="$H/no-such-libnvidia-ml.so.1"

# hc TREE [args...]: veil host-check on one fixture tree.
hc() {
	local t="$1"
	shift
	"$VEIL" host-check --sysfs "$H/$t/sys" --procfs "$H/$t/proc" --dev "$H/$t/dev" \
		--nvml-lib "$NO_NVML" --min-gpus 0 "$@"
}
# check NAME WANT-EXIT command...: the exit code; output kept for grep.
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
has() { grep -qF -- "$2" "$TMP/$1" && ok || bad "$1 lacks: $2"; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
unb64url() {
	local s
	s="$(tr -- '-_' '+/' <<<"$1")"
	while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
	base64 -d <<<"$s"
}

# Every tree's verdict.
for t in snp tdx; do
	check "$t passes" 0 hc "$t"
	has out "verdict: PASS (every required check passed)"
done
for t in plain snp-disabled tdx-no-module iommu-off old-kernel; do
	check "$t fails" 1 hc "$t"
	has out "verdict: FAIL"
done
check "plain: the table" 1 hc plain
has out "FAIL    tdx.cpu_flag"
has out "verdict: FAIL (failed: tdx.cpu_flag, tdx.kvm_intel, tdx.module, kernel.version)"
has out "fix: Enable TDX in the BIOS"
check "iommu-off: the one failure" 1 hc iommu-off
has out "verdict: FAIL (failed: iommu.enabled)"

# The JSON report: exactly the documented members, in every check too.
SHAPE='(keys == ["checks","cpu","host","kernel","tee","time","verdict","version"]) and
	.version == 1 and (.time | type) == "number" and
	([.checks[] | keys == ["evidence","id","remedy","required","status","title"]] | all) and
	([.checks[] | .status | IN("pass","fail","n/a")] | all) and
	([.checks[] | select(.status != "fail") | .remedy == ""] | all) and
	([.checks[] | select(.id | startswith("gpu") | not) | .evidence | contains("fixtures")
	  | not] | all)'
expect_run "snp --json" 0 "$SHAPE and .verdict == \"pass\" and .tee == \"snp\" and
	.host == \"snp-host-01\" and .kernel == \"6.12.9-snp-host\" and
	.cpu == \"AMD EPYC 9654 96-Core Processor\" and
	([.checks[] | select(.id | startswith(\"snp.\")) | .status == \"pass\"] | all) and
	([.checks[] | select(.id | startswith(\"tdx.\")) | .status == \"n/a\"] | all) and
	(.checks | map(.id) | index(\"iommu.enabled\")) != null" -- \
	host-check --sysfs "$H/snp/sys" --procfs "$H/snp/proc" --dev "$H/snp/dev" \
	--nvml-lib "$NO_NVML" --min-gpus 0 --json
expect_run "tdx --json" 0 "$SHAPE and .tee == \"tdx\" and
	(.checks[] | select(.id == \"tdx.module\") | .evidence | contains(\"version 1.5 build 784\"))" -- \
	host-check --sysfs "$H/tdx/sys" --procfs "$H/tdx/proc" --dev "$H/tdx/dev" \
	--nvml-lib "$NO_NVML" --min-gpus 0 --json
expect_run "snp-disabled --json" 1 "$SHAPE and .verdict == \"fail\" and
	([.checks[] | select(.status == \"fail\" and .required) | .id] ==
	 [\"snp.cpu_flags\",\"snp.kvm_amd\",\"snp.firmware\"]) and
	([.checks[] | select(.status == \"fail\") | .remedy != \"\"] | all)" -- \
	host-check --sysfs "$H/snp-disabled/sys" --procfs "$H/snp-disabled/proc" \
	--dev "$H/snp-disabled/dev" --nvml-lib "$NO_NVML" --min-gpus 0 --json
expect_run "--tee snp on the TDX host" 1 "$SHAPE and .tee == \"snp\" and
	(.checks[] | select(.id == \"cpu.vendor\") | .status) == \"fail\"" -- \
	host-check --sysfs "$H/tdx/sys" --procfs "$H/tdx/proc" --dev "$H/tdx/dev" \
	--nvml-lib "$NO_NVML" --min-gpus 0 --json --tee snp

# --out: the document to the file, the table on the terminal.
check "--json --out" 1 hc old-kernel --json --out "$TMP/old.json"
has out "report written to $TMP/old.json"
has out "FAIL    kernel.version"
jq -e '.verdict == "fail" and .kernel == "6.6.58"' "$TMP/old.json" >/dev/null && ok ||
	bad "--out wrote the JSON report"

# Signed reports.
"$VEIL" kbs keys --type p256 --out "$TMP/k" >/dev/null || bad "key"
"$VEIL" kbs keys --type p256 --out "$TMP/other" >/dev/null || bad "other key"
"$VEIL" kbs keys --type ed25519 --out "$TMP/ed" >/dev/null || bad "ed25519 key"
check "sign" 0 hc snp --sign "$TMP/k.jwk" --out "$TMP/r.jws"
has out "verdict: PASS"
JWS="$(cat "$TMP/r.jws")"
[ "$(tr -cd . <<<"$JWS" | wc -c)" = 2 ] && ok || bad "the signed report is three parts"
HDR="$(unb64url "${JWS%%.*}")"
jq -e '(keys == ["alg","kid","typ"]) and .alg == "ES256" and .typ == "veil-host-report+jws" and
	(.kid | length) == 43' <<<"$HDR" >/dev/null && ok || bad "header: $HDR"
PAYLOAD="$(cut -d. -f2 <<<"$JWS")"
unb64url "$PAYLOAD" | jq -e "$SHAPE and .verdict == \"pass\"" >/dev/null && ok ||
	bad "the payload is the JSON report"
check "sign to standard output" 0 hc snp --sign "$TMP/k.jwk"
[ "$(grep -c . "$TMP/out")" = 1 ] && grep -qE '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' \
	"$TMP/out" && ok || bad "--sign prints one JWS line"

check "verify" 0 "$VEIL" host-check --verify-report "$TMP/r.jws" --pubkey "$TMP/k.pub.jwk"
has out "signature verified (ES256, key"
has out "verdict: PASS"
expect_run "verify --json" 0 "$SHAPE and .verdict == \"pass\" and .host == \"snp-host-01\"" -- \
	host-check --verify-report "$TMP/r.jws" --pubkey "$TMP/k.pub.jwk" --json
check "verify with the key pair" 0 "$VEIL" host-check --verify-report "$TMP/r.jws" \
	--pubkey "$TMP/k.jwk"
check "verify --max-age" 0 "$VEIL" host-check --verify-report "$TMP/r.jws" \
	--pubkey "$TMP/k.pub.jwk" --max-age 3600
sleep 1
check "too old" 1 "$VEIL" host-check --verify-report "$TMP/r.jws" --pubkey "$TMP/k.pub.jwk" \
	--max-age 0
has err "old, over --max-age 0"

# A failing host's signed report verifies, and still fails.
check "sign a failing host" 1 hc plain --sign "$TMP/k.jwk" --out "$TMP/plain.jws"
check "verify a failing report" 1 "$VEIL" host-check --verify-report "$TMP/plain.jws" \
	--pubkey "$TMP/k.pub.jwk"
has out "signature verified"
has err "verdict is fail"

# Tampering: each is exit 1.
H1="${JWS%%.*}"
SIG="${JWS##*.}"
C="${PAYLOAD:40:1}"
[ "$C" = A ] && R=B || R=A
printf '%s.%s.%s\n' "$H1" "${PAYLOAD:0:40}$R${PAYLOAD:41}" "$SIG" >"$TMP/t1.jws"
check "a payload character changed" 1 "$VEIL" host-check --verify-report "$TMP/t1.jws" \
	--pubkey "$TMP/k.pub.jwk"
has err "not verified"
PLAIN="$(cat "$TMP/plain.jws")"
printf '%s.%s.%s\n' "$H1" "$(cut -d. -f2 <<<"$PLAIN")" "$SIG" >"$TMP/t2.jws"
check "another report's payload" 1 "$VEIL" host-check --verify-report "$TMP/t2.jws" \
	--pubkey "$TMP/k.pub.jwk"
FAKE="$(unb64url "$PAYLOAD" | jq -c '.verdict = "pass"' | b64url)"
printf '%s.%s.%s\n' "$H1" "$FAKE" "$SIG" >"$TMP/t3.jws"
check "a payload rewritten" 1 "$VEIL" host-check --verify-report "$TMP/t3.jws" \
	--pubkey "$TMP/k.pub.jwk"
NONE="$(jq -c '.alg = "none"' <<<"$HDR" | b64url)"
printf '%s.%s.\n' "$NONE" "$PAYLOAD" >"$TMP/t4.jws"
check "alg none, no signature" 1 "$VEIL" host-check --verify-report "$TMP/t4.jws" \
	--pubkey "$TMP/k.pub.jwk"
printf '%s.%s.%s\n' "$NONE" "$PAYLOAD" "$SIG" >"$TMP/t5.jws"
check "alg none" 1 "$VEIL" host-check --verify-report "$TMP/t5.jws" --pubkey "$TMP/k.pub.jwk"
HS="$(jq -c '.alg = "HS256"' <<<"$HDR" | b64url)"
printf '%s.%s.%s\n' "$HS" "$PAYLOAD" "$SIG" >"$TMP/t6.jws"
check "alg HS256" 1 "$VEIL" host-check --verify-report "$TMP/t6.jws" --pubkey "$TMP/k.pub.jwk"
TYP="$(jq -c '.typ = "JWT"' <<<"$HDR" | b64url)"
printf '%s.%s.%s\n' "$TYP" "$PAYLOAD" "$SIG" >"$TMP/t7.jws"
check "typ JWT" 1 "$VEIL" host-check --verify-report "$TMP/t7.jws" --pubkey "$TMP/k.pub.jwk"
printf 'not a report\n' >"$TMP/t8.jws"
check "not a JWS" 1 "$VEIL" host-check --verify-report "$TMP/t8.jws" --pubkey "$TMP/k.pub.jwk"
check "another key" 1 "$VEIL" host-check --verify-report "$TMP/r.jws" \
	--pubkey "$TMP/other.pub.jwk"
has err "not verified under key"
check "an Ed25519 key" 1 "$VEIL" host-check --verify-report "$TMP/r.jws" \
	--pubkey "$TMP/ed.pub.jwk"
check "signed by another key" 0 hc snp --sign "$TMP/other.jwk" --out "$TMP/o.jws"
check "...checked with ours" 1 "$VEIL" host-check --verify-report "$TMP/o.jws" \
	--pubkey "$TMP/k.pub.jwk"

# Usage and input: exit 2.
check "--tee sev" 2 hc snp --tee sev
check "--min-gpus -1" 2 hc snp --min-gpus -1
check "--min-gpus 9" 2 hc snp --min-gpus 9
check "--min-driver abc" 2 hc snp --min-driver abc
check "a stray argument" 2 hc snp extra
check "--verify-report without --pubkey" 2 "$VEIL" host-check --verify-report "$TMP/r.jws"
check "--pubkey alone" 2 "$VEIL" host-check --pubkey "$TMP/k.pub.jwk"
check "--max-age alone" 2 hc snp --max-age 10
check "--verify-report with --sysfs" 2 "$VEIL" host-check --verify-report "$TMP/r.jws" \
	--pubkey "$TMP/k.pub.jwk" --sysfs "$H/snp/sys"
check "--max-age not a number" 2 "$VEIL" host-check --verify-report "$TMP/r.jws" \
	--pubkey "$TMP/k.pub.jwk" --max-age 1h
check "a missing report" 2 "$VEIL" host-check --verify-report "$TMP/none.jws" \
	--pubkey "$TMP/k.pub.jwk"
check "a key file that is no key" 2 "$VEIL" host-check --verify-report "$TMP/r.jws" \
	--pubkey "$TMP/r.jws"
check "--sign with a public key" 2 hc snp --sign "$TMP/k.pub.jwk"
check "--sign with an Ed25519 key" 2 hc snp --sign "$TMP/ed.jwk"
has err "EC P-256"
check "--sign with no file" 2 hc snp --sign "$TMP/none.jwk"
check "--out into no folder" 2 hc snp --json --out "$TMP/no/such/dir/r.json"
check "--help" 0 "$VEIL" host-check --help
has out "usage: veil host-check"

# ---- GPUs (hc-gpu): the stand-in NVML, $(BUILD)/tests/fixtures/libfake_nvml.so,
# on the GPU part of the trees (snp: an H100 bound to vfio-pci; tdx: two, and
# an NVSwitch; gpu-nvidia-bound). tests/test_hostcheck_gpu.c has the rest.
FAKE_NVML="${BUILD:-build}/tests/fixtures/libfake_nvml.so"
# gpu TREE [args...]: host-check with the stand-in; the CPU side of snp.
gpu() {
	local t="$1"
	shift
	"$VEIL" host-check --sysfs "$H/$t/sys" --procfs "$H/snp/proc" --dev "$H/snp/dev" \
		--tee snp --nvml-lib "$FAKE_NVML" "$@"
}
GPU='def st($i): [.checks[] | select(.id == $i) | .status, .required];
	def failed: [.checks[] | select(.status == "fail" and .required) | .id];'
if [ ! -f "$FAKE_NVML" ]; then
	bad "the stand-in NVML is not built: make $FAKE_NVML"
else
	export FAKE_NVML_MODE=ok FAKE_NVML_GPUS=1 FAKE_NVML_DRIVER=570.124.06
	check "gpu: H100 in CC mode, bound to vfio-pci" 0 gpu snp --min-gpus 1
	has out "pass    gpu.0.cc_mode"
	has out "0000:41:00.0 (10de:2331, bound to vfio-pci), IOMMU group 40"
	has out "verdict: PASS"
	expect_run "gpu: --json" 0 "$GPU $SHAPE and .verdict == \"pass\" and
		st(\"gpu.nvml\") == [\"pass\", true] and st(\"gpu.driver\") == [\"pass\", true] and
		st(\"gpu.0.model\") == [\"pass\", true] and st(\"gpu.0.cc_mode\") == [\"pass\", true] and
		st(\"gpu.0.devtools\") == [\"pass\", true] and st(\"gpu.0.ready\") == [\"pass\", false] and
		st(\"gpu.0.vbios\") == [\"pass\", true] and st(\"gpu.0.vfio\") == [\"pass\", true] and
		st(\"gpu.count\") == [\"pass\", true] and
		([.checks[] | select(.id | startswith(\"gpu.\"))] | length) == 9" -- \
		host-check --sysfs "$H/snp/sys" --procfs "$H/snp/proc" --dev "$H/snp/dev" \
		--nvml-lib "$FAKE_NVML" --min-gpus 1 --json
	check "gpu: two GPUs asked of one" 1 gpu snp --min-gpus 2
	has out "verdict: FAIL (failed: gpu.count)"
	FAKE_NVML_MODE=devtools check "gpu: DEVTOOLS" 1 gpu snp --min-gpus 1
	has out "FAIL    gpu.0.devtools"
	has out "verdict: FAIL (failed: gpu.0.devtools, gpu.count)"
	FAKE_NVML_MODE=cc_off check "gpu: CC off" 1 gpu snp --min-gpus 1
	has out "fix: set CC on with NVIDIA gpu-admin-tools"
	FAKE_NVML_DRIVER=550.90.07 check "gpu: driver R550" 1 gpu snp --min-gpus 1
	has out "verdict: FAIL (failed: gpu.driver)"
	check "gpu: --min-driver 580" 1 gpu snp --min-gpus 1 --min-driver 580
	has out "driver 570.124.06 is older than 580"
	# (the CPU checks fail too on this GPU-only tree: only the GPU's count)
	expect_run "gpu: bound to nvidia" 1 "$GPU
		(failed | map(select(startswith(\"gpu\")))) == [\"gpu.0.vfio\", \"gpu.count\"] and
		(.checks[] | select(.id == \"gpu.0.vfio\") | .remedy | contains(\"driverctl\"))" -- \
		host-check --sysfs "$H/gpu-nvidia-bound/sys" --procfs "$H/snp/proc" \
		--dev "$H/snp/dev" --nvml-lib "$FAKE_NVML" --min-gpus 1 --json
	FAKE_NVML_GPUS=2 FAKE_NVML_BUSIDS=00000000:18:00.0,00000000:2A:00.0 \
		expect_run "gpu: tdx, two H100s and an NVSwitch" 0 "$GPU .verdict == \"pass\" and
		st(\"gpu.1.vfio\") == [\"pass\", true] and
		(.checks[] | select(.id == \"gpu.count\") | .evidence |
		 contains(\"2 NVIDIA GPU(s) found, 2 ready (0000:18:00.0, 0000:2a:00.0)\"))" -- \
		host-check --sysfs "$H/tdx/sys" --procfs "$H/tdx/proc" --dev "$H/tdx/dev" \
		--nvml-lib "$FAKE_NVML" --min-gpus 2 --json
	# A passthrough host without NVML: the mode cannot be read there.
	expect_run "gpu: no NVML, --min-gpus 1" 1 "$GPU
		failed == [\"gpu.nvml\", \"gpu.driver\", \"gpu.0.model\", \"gpu.0.cc_mode\",
		\"gpu.0.devtools\", \"gpu.0.vbios\", \"gpu.count\"] and
		st(\"gpu.0.vfio\") == [\"pass\", true] and
		(.checks[] | select(.id == \"gpu.0.cc_mode\") | .remedy | contains(\"--query-cc-mode\"))" -- \
		host-check --sysfs "$H/snp/sys" --procfs "$H/snp/proc" --dev "$H/snp/dev" \
		--nvml-lib "$NO_NVML" --min-gpus 1 --json
	expect_run "gpu: no NVML, --min-gpus 0" 0 "$GPU .verdict == \"pass\" and
		st(\"gpu.nvml\") == [\"fail\", false] and st(\"gpu.count\") == [\"n/a\", false]" -- \
		host-check --sysfs "$H/snp/sys" --procfs "$H/snp/proc" --dev "$H/snp/dev" \
		--nvml-lib "$NO_NVML" --min-gpus 0 --json
	FAKE_NVML_MODE=init_error expect_run "gpu: nvmlInit_v2 fails" 1 "$GPU
		(.checks[] | select(.id == \"gpu.nvml\") | .evidence |
		 endswith(\"nvmlInit_v2 failed: Driver Not Loaded (error 9)\"))" -- \
		host-check --sysfs "$H/snp/sys" --procfs "$H/snp/proc" --dev "$H/snp/dev" \
		--nvml-lib "$FAKE_NVML" --min-gpus 1 --json
	unset FAKE_NVML_MODE FAKE_NVML_GPUS FAKE_NVML_DRIVER
fi
# ---- end of GPUs ----

finish
