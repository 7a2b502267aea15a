#!/usr/bin/env bash
# veil launch (docs/launch.md) on the fixture hosts of tests/fixtures/hosts
# with the stand-in NVML: --dry-run prints the expected SEV-SNP and TDX
# command lines and exits 0 on passing hosts, 1 on failing ones with the
# failing check named; a signed host report from `veil host-check --sign`
# is accepted, and an expired one, one for the other TEE or another host,
# a tampered one and one under another key are refused; without --dry-run
# the command is exec'd, here a stand-in QEMU script that records its
# arguments (nothing real is ever started), and only after the gate
# passed; usage and spec errors exit 2.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash

HOSTS=tests/fixtures/hosts
NVML="$(pwd)/${BUILD:-build}/tests/fixtures/libfake_nvml.so"

# check NAME WANT-EXIT command...: the exit code; output kept in
# $TMP/out and $TMP/err for the checks after it.
check() {
	local name="$1" want="$2"
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else
		bad "$name: exit $rc, want $want"
		sed 's/^/    /' "$TMP/err" | head -5
		grep -E 'FAIL' "$TMP/out" | head -5 | sed 's/^/    /'
	fi
}
has() { grep -qF -- "$2" "$TMP/$1" && ok || bad "$3: $1 lacks '$2'"; }
lacks() { grep -qF -- "$2" "$TMP/$1" && bad "$3: $1 has '$2'" || ok; }

if [ ! -f "$NVML" ]; then
	bad "the stand-in NVML $NVML is not built (make $NVML)"
	finish
fi

# A fixture host copied into $TMP, with the vfio group nodes its /dev
# would have for the GPUs bound to vfio-pci (the fixtures hold sysfs and
# procfs only).
host() {
	local name="$1" dest="$TMP/hosts/$1" dev
	if [ ! -d "$dest" ]; then
		mkdir -p "$TMP/hosts"
		cp -a "$HOSTS/$name" "$dest"
		mkdir -p "$dest/dev/vfio" "$dest/sys" "$dest/proc"
		for dev in "$dest"/sys/bus/pci/devices/*; do
			[ -L "$dev/driver" ] && [ -L "$dev/iommu_group" ] || continue
			[ "$(basename "$(readlink "$dev/driver")")" = vfio-pci ] || continue
			: >"$dest/dev/vfio/$(basename "$(readlink "$dev/iommu_group")")"
		done
	fi
	printf '%s' "$dest"
}
roots() {
	local h
	h="$(host "$1")"
	printf -- '--sysfs\n%s\n--procfs\n%s\n--dev\n%s\n' "$h/sys" "$h/proc" "$h/dev"
}

# The stand-in NVML: H100s in CC mode, production, driver R570, at the
# fixture's bus ids.
nvml_gpus() {
	export FAKE_NVML_MODE=ok FAKE_NVML_DRIVER=570.124.06 FAKE_NVML_GPUS="$1"
	export FAKE_NVML_BUSIDS="$2"
}

# The VM's files and the stand-in QEMU, which writes its arguments one a
# line to $QEMU_ARGS_OUT.
VM="$TMP/vm"
mkdir -p "$VM/images"
for f in OVMF.fd TDVF.fd vmlinuz initrd.img worker.img; do printf 'x' >"$VM/images/$f"; done
cat >"$VM/qemu-stand-in" <<'EOF'
#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done >"$QEMU_ARGS_OUT"
echo "stand-in QEMU ran with $# arguments"
EOF
chmod 755 "$VM/qemu-stand-in"
export QEMU_ARGS_OUT="$TMP/qemu-args"
# The default program name must be found in PATH for the gate's file
# check: the stand-in under that name.
mkdir -p "$VM/bin"
cp "$VM/qemu-stand-in" "$VM/bin/qemu-system-x86_64"
export PATH="$VM/bin:$PATH"

cat >"$VM/snp.json" <<'EOF'
{"version": 1, "tee": "snp", "name": "worker-snp",
 "firmware": "images/OVMF.fd", "kernel": "images/vmlinuz", "initrd": "images/initrd.img",
 "cmdline": "console=ttyS0 root=/dev/vda ro", "vcpus": 8, "memory_mib": 32768,
 "gpus": ["0000:41:00.0"], "disk": "images/worker.img",
 "network": {"mode": "user", "forward": [{"host": 8090, "guest": 8090}]},
 "snp": {"policy": "0x30000"}}
EOF
cat >"$VM/tdx.json" <<'EOF'
{"version": 1, "tee": "tdx", "name": "worker-tdx",
 "firmware": "images/TDVF.fd", "kernel": "images/vmlinuz", "initrd": "images/initrd.img",
 "cmdline": "console=ttyS0 it's quoted", "vcpus": 16, "memory_mib": 65536,
 "gpus": ["0000:18:00.0", "0000:2A:00.0"],
 "network": {"mode": "user", "host_addr": "127.0.0.1", "forward": [{"host": 8090, "guest": 8090}]}}
EOF
cat >"$VM/nogpu-snp.json" <<'EOF'
{"version": 1, "tee": "snp", "name": "nogpu", "firmware": "images/OVMF.fd",
 "kernel": "images/vmlinuz", "vcpus": 2, "memory_mib": 4096}
EOF

cat >"$TMP/snp.argv" <<EOF
qemu-system-x86_64
-name
worker-snp
-accel
kvm
-machine
q35,confidential-guest-support=sev0,memory-backend=ram1,vmport=off
-object
memory-backend-memfd,id=ram1,size=32768M,share=true,prealloc=false
-object
sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000,kernel-hashes=on
-cpu
EPYC-v4
-smp
8
-m
32768M
-bios
$VM/images/OVMF.fd
-kernel
$VM/images/vmlinuz
-initrd
$VM/images/initrd.img
-append
console=ttyS0 root=/dev/vda ro
-nographic
-no-reboot
-drive
file=$VM/images/worker.img,if=none,id=disk0,format=raw
-device
virtio-blk-pci,drive=disk0,disable-legacy=on,iommu_platform=true
-netdev
user,id=net0,hostfwd=tcp::8090-:8090
-device
virtio-net-pci,netdev=net0,disable-legacy=on,iommu_platform=true,romfile=
-device
pcie-root-port,id=rp0,bus=pcie.0,chassis=1
-device
vfio-pci,host=0000:41:00.0,bus=rp0
-fw_cfg
name=opt/ovmf/X-PciMmio64Mb,string=262144
EOF
cat >"$TMP/tdx.argv" <<EOF
qemu-system-x86_64
-name
worker-tdx
-accel
kvm
-machine
q35,confidential-guest-support=tdx0,kernel-irqchip=split
-object
{"qom-type":"tdx-guest","id":"tdx0","quote-generation-socket":{"type":"vsock","cid":"2","port":"4050"}}
-cpu
host
-smp
16
-m
65536M
-bios
$VM/images/TDVF.fd
-kernel
$VM/images/vmlinuz
-initrd
$VM/images/initrd.img
-append
console=ttyS0 it's quoted
-nographic
-no-reboot
-netdev
user,id=net0,hostfwd=tcp:127.0.0.1:8090-:8090
-device
virtio-net-pci,netdev=net0,disable-legacy=on,iommu_platform=true,romfile=
-device
pcie-root-port,id=rp0,bus=pcie.0,chassis=1
-device
vfio-pci,host=0000:18:00.0,bus=rp0
-device
pcie-root-port,id=rp1,bus=pcie.0,chassis=2
-device
vfio-pci,host=0000:2a:00.0,bus=rp1
-fw_cfg
name=opt/ovmf/X-PciMmio64Mb,string=262144
EOF

# argv_is NAME EXPECTED-FILE: the argv of the last --json output.
argv_is() {
	if jq -r '.argv[]' "$TMP/out" | diff -u "$2" - >"$TMP/diff"; then ok; else
		bad "$1: argv differs"
		head -20 "$TMP/diff" | sed 's/^/    /'
	fi
}

mapfile -t SNP_ROOTS < <(roots snp)
mapfile -t TDX_ROOTS < <(roots tdx)

# --- passing hosts, dry run: the expected command lines ---

nvml_gpus 1 "00000000:41:00.0"
check "snp dry run" 0 "$VEIL" launch --spec "$VM/snp.json" --dry-run --json \
	"${SNP_ROOTS[@]}" --nvml-lib "$NVML"
argv_is "snp dry run" "$TMP/snp.argv"
jq -e '.verdict == "launch" and .tee == "snp" and .dry_run and (.host.verdict == "pass")
	and ([.checks[] | select(.status == "fail")] | length == 0)
	and (.command | startswith("qemu-system-x86_64 -name worker-snp -accel kvm"))
	and (.command | contains("-append '"'"'console=ttyS0 root=/dev/vda ro'"'"'"))
	and ([.not_checked[] | select(test("QEMU 9.1"))] | length == 1)' "$TMP/out" >/dev/null &&
	ok || bad "snp dry run: the JSON verdict, checks and command"

check "snp dry run, text" 0 "$VEIL" launch --spec "$VM/snp.json" --dry-run \
	"${SNP_ROOTS[@]}" --nvml-lib "$NVML"
has out "verdict: would launch" "snp text"
has out "host snp-host-01 (snp), checked now:" "snp text"
has out "  pass  vfio.0000:41:00.0.driver" "snp text"
has out "    -device vfio-pci,host=0000:41:00.0,bus=rp0 \\" "snp text"
has out "not checked here:" "snp text"
[ ! -e "$QEMU_ARGS_OUT" ] && ok || bad "a dry run exec'd QEMU"

nvml_gpus 2 "00000000:18:00.0,00000000:2A:00.0"
check "tdx dry run" 0 "$VEIL" launch --spec "$VM/tdx.json" --dry-run --json \
	"${TDX_ROOTS[@]}" --nvml-lib "$NVML"
argv_is "tdx dry run" "$TMP/tdx.argv"
jq -e '.verdict == "launch" and (.command | contains("-append '"'"'console=ttyS0 it'"'"'\\'"'"''"'"'s quoted'"'"'"))
	and (.command | contains("-object '"'"'{\"qom-type\":\"tdx-guest\""))' "$TMP/out" \
	>/dev/null && ok || bad "tdx dry run: the shell-quoted command"

# --- failing hosts: refused, the failing check named ---

# The SNP spec on a TDX host, on hosts with SNP off, the IOMMU off, an old
# kernel: the host check's own failing checks are printed.
nvml_gpus 1 "00000000:41:00.0"
for h in tdx snp-disabled old-kernel plain; do
	mapfile -t R < <(roots "$h")
	check "snp spec on $h" 1 "$VEIL" launch --spec "$VM/nogpu-snp.json" --dry-run --json \
		"${R[@]}" --nvml-lib "$NVML"
	jq -e '.verdict == "refuse" and .host.verdict == "fail"
		and ([.checks[] | select(.id == "host.verdict" and .status == "fail")] | length == 1)
		and (.argv | length > 10)' "$TMP/out" >/dev/null && ok ||
		bad "snp spec on $h: refused by the host check, command still printed"
done
mapfile -t R < <(roots snp-disabled)
check "snp-disabled, text" 1 "$VEIL" launch --spec "$VM/nogpu-snp.json" --dry-run "${R[@]}" \
	--nvml-lib "$NVML"
has out "verdict: would refuse" "snp-disabled text"
grep -qE '^  FAIL  snp\.' "$TMP/out" && ok || bad "snp-disabled: an snp.* check is named FAIL"
has out "remedy:" "snp-disabled text"
has out "qemu-system-x86_64 \\" "snp-disabled text: the command is printed"

for h in tdx-no-module iommu-off; do
	mapfile -t R < <(roots "$h")
	check "tdx spec on $h" 1 "$VEIL" launch --spec "$VM/tdx.json" --dry-run "${R[@]}" \
		--nvml-lib "$NVML"
	has out "verdict: would refuse" "tdx on $h"
done
grep -qE '^  FAIL  iommu\.' "$TMP/out" && ok || bad "iommu-off: an iommu.* check is named FAIL"

# A GPU bound to the nvidia driver (the snp host, rebound).
GB="$TMP/hosts/gpu-bound"
cp -a "$(host snp)" "$GB"
ln -sfn ../../drivers/nvidia "$GB/sys/bus/pci/devices/0000:41:00.0/driver"
check "gpu bound to nvidia" 1 "$VEIL" launch --spec "$VM/snp.json" --dry-run --sysfs "$GB/sys" \
	--procfs "$GB/proc" --dev "$GB/dev" --nvml-lib "$NVML"
has out "FAIL  vfio.0000:41:00.0.driver" "gpu bound to nvidia"
has out "0000:41:00.0 is bound to nvidia" "gpu bound to nvidia"
# A spec naming a GPU the host does not have.
sed 's/0000:41:00.0/0000:42:00.0/' "$VM/snp.json" >"$VM/snp-42.json"
check "gpu not on the host" 1 "$VEIL" launch --spec "$VM/snp-42.json" --dry-run "${SNP_ROOTS[@]}" \
	--nvml-lib "$NVML"
has out "FAIL  vfio.0000:42:00.0.device" "gpu not on the host"

# --- the launch itself: exec'd only after the gate passed ---

check "snp launch" 0 "$VEIL" launch --spec "$VM/snp.json" "${SNP_ROOTS[@]}" --nvml-lib "$NVML" \
	--qemu "$VM/qemu-stand-in"
has out "stand-in QEMU ran with $(($(wc -l <"$TMP/snp.argv") - 1)) arguments" "snp launch"
has out "verdict: launching" "snp launch"
# The stand-in records its arguments, argv[0] (the program) aside.
tail -n +2 "$TMP/snp.argv" >"$TMP/snp-stand-in.argv"
if diff -u "$TMP/snp-stand-in.argv" "$QEMU_ARGS_OUT" >"$TMP/diff"; then ok; else
	bad "snp launch: the stand-in's arguments"
	head -10 "$TMP/diff"
fi
rm -f "$QEMU_ARGS_OUT"

nvml_gpus 2 "00000000:18:00.0,00000000:2A:00.0"
check "tdx launch" 0 "$VEIL" launch --spec "$VM/tdx.json" "${TDX_ROOTS[@]}" --nvml-lib "$NVML" \
	--qemu "$VM/qemu-stand-in"
tail -n +2 "$TMP/tdx.argv" >"$TMP/tdx-stand-in.argv"
diff -q "$TMP/tdx-stand-in.argv" "$QEMU_ARGS_OUT" >/dev/null && ok ||
	bad "tdx launch: the stand-in's arguments"
rm -f "$QEMU_ARGS_OUT"

# Refused: nothing is exec'd.
mapfile -t R < <(roots tdx-no-module)
check "tdx launch on a host without the module" 1 "$VEIL" launch --spec "$VM/tdx.json" "${R[@]}" \
	--nvml-lib "$NVML" --qemu "$VM/qemu-stand-in"
[ ! -e "$QEMU_ARGS_OUT" ] && ok || bad "a refused launch exec'd QEMU"
has err "refusing to launch worker-tdx" "refused launch"
has out "verdict: refused" "refused launch"

# GPUs on vfio-pci are invisible to a real host's NVML (here: an NVML
# that sees none): refused, unless their CC mode is left to the VM's
# attestation.
export FAKE_NVML_MODE=zero_gpus FAKE_NVML_GPUS=0
check "gpu invisible to NVML" 1 "$VEIL" launch --spec "$VM/snp.json" --dry-run "${SNP_ROOTS[@]}" \
	--nvml-lib "$NVML"
has out "FAIL  gpu.0.cc_mode" "gpu invisible to NVML"
check "gpu invisible to NVML, --gpu-cc-by-attestation" 0 "$VEIL" launch --spec "$VM/snp.json" \
	--dry-run --gpu-cc-by-attestation "${SNP_ROOTS[@]}" --nvml-lib "$NVML"
has out "  n/a   gpu.0.cc_mode" "--gpu-cc-by-attestation"
has out "left to the VM's GPU attestation (--gpu-cc-by-attestation)" "--gpu-cc-by-attestation"
nvml_gpus 1 "00000000:41:00.0"

# --- the spec: errors exit 2, each member or file named ---

printf '{"version":1,"tee":"snp","name":"a","firmware":"f","kernel":"k","vcpus":1,"memory_mib":512,"polcy":"0x30000"}' >"$VM/bad.json"
check "unknown member" 2 "$VEIL" launch --spec "$VM/bad.json" --dry-run
has err 'unknown member "polcy"' "unknown member"
printf '{"version":1,"tee":"snp","name":"a","firmware":"f","kernel":"k","vcpus":0,"memory_mib":512}' >"$VM/bad.json"
check "vcpus 0" 2 "$VEIL" launch --spec "$VM/bad.json" --dry-run
has err '"vcpus" is 0' "vcpus 0"
check "no spec file" 2 "$VEIL" launch --spec "$VM/none.json" --dry-run
sed 's|images/vmlinuz|images/missing-kernel|' "$VM/snp.json" >"$VM/missing.json"
check "missing kernel" 2 "$VEIL" launch --spec "$VM/missing.json" "${SNP_ROOTS[@]}" \
	--nvml-lib "$NVML" --qemu "$VM/qemu-stand-in"
has err "file.kernel: $VM/images/missing-kernel" "missing kernel"
[ ! -e "$QEMU_ARGS_OUT" ] && ok || bad "a launch with a missing kernel exec'd QEMU"
nvml_gpus 1 "00000000:41:00.0"
check "missing kernel, dry run" 1 "$VEIL" launch --spec "$VM/missing.json" --dry-run \
	"${SNP_ROOTS[@]}" --nvml-lib "$NVML"
has out "FAIL  file.kernel" "missing kernel, dry run"
has out "-kernel $VM/images/missing-kernel" "missing kernel, dry run: the command"

# The examples parse and build (their files are not there: would refuse).
for ex in examples/launch/snp.json examples/launch/tdx.json; do
	check "$ex" 1 "$VEIL" launch --spec "$ex" --dry-run --json "${SNP_ROOTS[@]}" \
		--nvml-lib "$NVML"
	jq -e '(.argv | length > 30) and ([.checks[] | select(.id == "file.kernel")][0].status
		== "fail")' "$TMP/out" >/dev/null && ok || bad "$ex: command built, kernel missing"
done

# --- usage ---

check "no --spec" 2 "$VEIL" launch --dry-run
check "--report without --pubkey" 2 "$VEIL" launch --spec "$VM/snp.json" --report x
check "--max-age without --report" 2 "$VEIL" launch --spec "$VM/snp.json" --max-age 10
check "--max-age 0" 2 "$VEIL" launch --spec "$VM/snp.json" --report x --pubkey y --max-age 0
check "--max-age junk" 2 "$VEIL" launch --spec "$VM/snp.json" --report x --pubkey y --max-age 1h
check "extra word" 2 "$VEIL" launch --spec "$VM/snp.json" extra
check "--help" 0 "$VEIL" launch --help
has out "usage: veil launch" "--help"

# --- signed reports ---

"$VEIL" kbs keys --type p256 --out "$TMP/k" >/dev/null || bad "a key pair"
"$VEIL" kbs keys --type p256 --out "$TMP/other" >/dev/null || bad "another key pair"
# The public key as PEM too (--pubkey takes either): the P-256
# SubjectPublicKeyInfo is a fixed DER prefix and the point.
python3 - "$TMP/k.pub.jwk" >"$TMP/k.pub.pem" <<'PY'
import base64, json, sys
k = json.load(open(sys.argv[1]))
b = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
der = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + b"\x04" + b(k["x"]) + b(k["y"])
t = base64.b64encode(der).decode()
print("-----BEGIN PUBLIC KEY-----\n" + "\n".join(t[i:i + 64] for i in range(0, len(t), 64)) + "\n-----END PUBLIC KEY-----")
PY

# sign_report HOST TEE MIN-GPUS OUT: veil host-check --sign on a fixture.
sign_report() {
	local r
	mapfile -t r < <(roots "$1")
	"$VEIL" host-check --tee "$2" --min-gpus "$3" "${r[@]}" --nvml-lib "$NVML" \
		--sign "$TMP/k.jwk" --out "$4" >/dev/null 2>"$TMP/sign-err"
}

nvml_gpus 1 "00000000:41:00.0"
sign_report snp snp 1 "$TMP/snp.jws" && ok || {
	bad "veil host-check --sign on the snp host: $(head -c 300 "$TMP/sign-err")"
	finish
}
# The launch needs no NVML now: the report stands for the host.
unset FAKE_NVML_MODE FAKE_NVML_GPUS FAKE_NVML_BUSIDS FAKE_NVML_DRIVER
check "signed report, dry run" 0 "$VEIL" launch --spec "$VM/snp.json" --dry-run --json \
	--report "$TMP/snp.jws" --pubkey "$TMP/k.pub.jwk" "${SNP_ROOTS[@]}"
argv_is "signed report" "$TMP/snp.argv"
jq -e '.verdict == "launch" and .host_from_signed_report and .host.host == "snp-host-01"
	and ([.checks[] | select(.id | startswith("report.")) | .status] ==
	     ["pass","pass","pass","pass","pass","pass"])' "$TMP/out" >/dev/null && ok ||
	bad "signed report: every report.* check passes"
check "signed report, PEM key" 0 "$VEIL" launch --spec "$VM/snp.json" --dry-run \
	--report "$TMP/snp.jws" --pubkey "$TMP/k.pub.pem" "${SNP_ROOTS[@]}"
check "signed report, the key pair's JWK" 0 "$VEIL" launch --spec "$VM/snp.json" --dry-run \
	--report "$TMP/snp.jws" --pubkey "$TMP/k.jwk" "${SNP_ROOTS[@]}"
check "signed report, launch" 0 "$VEIL" launch --spec "$VM/snp.json" --report "$TMP/snp.jws" \
	--pubkey "$TMP/k.pub.jwk" "${SNP_ROOTS[@]}" --qemu "$VM/qemu-stand-in"
diff -q "$TMP/snp-stand-in.argv" "$QEMU_ARGS_OUT" >/dev/null && ok ||
	bad "signed report launch: the stand-in's arguments"
rm -f "$QEMU_ARGS_OUT"

# refused NAME CHECK-ID args...: exit 1 and the check named FAIL.
refused() {
	local name="$1" id="$2"
	shift 2
	check "$name" 1 "$VEIL" launch --spec "$VM/snp.json" --dry-run "$@"
	grep -qE "^  FAIL  $id " "$TMP/out" && ok || bad "$name: $id is not named FAIL"
}
# Expired: one second allowed, two waited.
sleep 2
refused "expired report" report.age --report "$TMP/snp.jws" --pubkey "$TMP/k.pub.jwk" \
	--max-age 1 "${SNP_ROOTS[@]}"
has out "more than --max-age 1 s" "expired report"
refused "another key" report.signature --report "$TMP/snp.jws" --pubkey "$TMP/other.pub.jwk" \
	"${SNP_ROOTS[@]}"
# Tampered: one character of the payload changed.
awk -F. '{ p = $2; c = substr(p, 20, 1); r = (c == "A") ? "B" : "A";
	print $1 "." substr(p, 1, 19) r substr(p, 21) "." $3 }' "$TMP/snp.jws" >"$TMP/tampered.jws"
refused "tampered report" report.signature --report "$TMP/tampered.jws" \
	--pubkey "$TMP/k.pub.jwk" "${SNP_ROOTS[@]}"
mapfile -t R < <(roots snp-disabled)
refused "report for another host" report.host --report "$TMP/snp.jws" --pubkey "$TMP/k.pub.jwk" \
	"${R[@]}"
nvml_gpus 2 "00000000:18:00.0,00000000:2A:00.0"
sign_report tdx tdx 2 "$TMP/tdx.jws" && ok || bad "host-check --sign on the tdx host"
unset FAKE_NVML_MODE FAKE_NVML_GPUS FAKE_NVML_BUSIDS FAKE_NVML_DRIVER
refused "report for the other TEE" report.tee --report "$TMP/tdx.jws" --pubkey "$TMP/k.pub.jwk" \
	"${TDX_ROOTS[@]}"
# A failing host's report is refused for its verdict.
mapfile -t R < <(roots snp-disabled)
sign_report snp-disabled snp 0 "$TMP/disabled.jws"
refused "report of a failing host" report.verdict --report "$TMP/disabled.jws" \
	--pubkey "$TMP/k.pub.jwk" "${R[@]}"
# A report made without GPUs does not vouch for the spec's GPU.
nvml_gpus 1 "00000000:41:00.0"
FAKE_NVML_MODE=cc_off sign_report snp snp 0 "$TMP/nocc.jws"
refused "report without GPUs in CC mode" report.gpus --report "$TMP/nocc.jws" \
	--pubkey "$TMP/k.pub.jwk" "${SNP_ROOTS[@]}"
# A report whose GPU CC mode was left to attestation: accepted only with
# --gpu-cc-by-attestation.
export FAKE_NVML_MODE=zero_gpus FAKE_NVML_GPUS=0
mapfile -t r < <(roots snp)
"$VEIL" host-check --tee snp --min-gpus 1 --gpu-cc-by-attestation "${r[@]}" --nvml-lib "$NVML" \
	--sign "$TMP/k.jwk" --out "$TMP/deferred.jws" >/dev/null 2>"$TMP/sign-err" && ok ||
	bad "host-check --gpu-cc-by-attestation --sign: $(head -c 300 "$TMP/sign-err")"
unset FAKE_NVML_MODE FAKE_NVML_GPUS
refused "report with CC left to attestation" report.gpus --report "$TMP/deferred.jws" \
	--pubkey "$TMP/k.pub.jwk" "${SNP_ROOTS[@]}"
check "report with CC left to attestation, accepted" 0 "$VEIL" launch --spec "$VM/snp.json" \
	--dry-run --gpu-cc-by-attestation --report "$TMP/deferred.jws" --pubkey "$TMP/k.pub.jwk" \
	"${SNP_ROOTS[@]}"
printf 'not a report' >"$TMP/junk.jws"
refused "junk report" report.signature --report "$TMP/junk.jws" --pubkey "$TMP/k.pub.jwk" \
	"${SNP_ROOTS[@]}"
check "unreadable key" 2 "$VEIL" launch --spec "$VM/snp.json" --dry-run \
	--report "$TMP/snp.jws" --pubkey "$TMP/junk.jws"
# A NUL byte inside the report file: refused as input, not cut short.
{ head -c 20 "$TMP/snp.jws"; printf '\0'; tail -c +21 "$TMP/snp.jws"; } >"$TMP/nul.jws"
check "report with a NUL byte" 2 "$VEIL" launch --spec "$VM/snp.json" --dry-run \
	--report "$TMP/nul.jws" --pubkey "$TMP/k.pub.jwk" "${SNP_ROOTS[@]}"

finish
