#!/usr/bin/env bash
# The main job until the whole system exists: `veil verify` on real evidence
# from real hardware in the shared test data: an AMD SEV-SNP report from a
# Milan machine (a debug guest), one from Turin, an Intel TDX quote with its
# Intel collateral, a tampered copy that must be refused, and an NVIDIA H100
# GPU report with its RIMs.
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

echo "== AMD SEV-SNP, Milan, debug guest: genuine, and the claims say debug=true"
run --at 2023-01-01T00:00:00Z --certs "$TD/snp/go-sev-guest/vcek.testcer" \
	"$TD/snp/go-sev-guest/attestation.bin"

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
