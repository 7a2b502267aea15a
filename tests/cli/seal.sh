#!/usr/bin/env bash
# veil seal and veil unseal on a random model (docs/sealed-model.md): the
# key in a 0600 file, every tamper the command line can make refused with
# exit 1, usage refused with exit 2 and nothing written, progress only on
# a terminal; then the key kept in a real veil-kbs through the admin API
# and released to the simulated TEE by `veil kbs fetch`, which then opens
# the model with it.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/kbs.bash

# check NAME WANT-EXIT command...: exit code only; output kept for grep.
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
# Nothing but the expected files in the model folder (no temporary file
# left by a failed seal).
only_files() {
	local got
	got="$(cd "$M" && ls -A | sort | tr '\n' ' ')"
	[ "$got" = "$* " ] && ok || bad "files in the model folder: '$got', want '$* '"
}

M="$TMP/m"
mkdir -p "$M"
head -c 3000017 /dev/urandom >"$M/model"
DIGEST="sha256:$(sha256sum "$M/model" | cut -d' ' -f1)"

check "seal --key-out" 0 "$VEIL" seal --in "$M/model" --out "$M/model.sealed" \
	--key-out "$M/model.key" --resource default/model/cli
grep -q "$DIGEST" "$TMP/out" && ok || bad "seal prints the model digest"
[ ! -s "$TMP/err" ] && ok || bad "seal is quiet on stderr off a terminal ($(head -c 200 "$TMP/err"))"
[ "$(stat -c %a "$M/model.key")" = 600 ] && [ "$(stat -c %s "$M/model.key")" = 32 ] && ok ||
	bad "the key file is 32 bytes, mode 0600"
[ "$(stat -c %s "$M/model.sealed")" = $((3000017 + 130 + 17 + 3 * 16)) ] && ok ||
	bad "sealed size: header, plaintext and three tags"
cmp -s "$M/model" "$M/model.sealed" && bad "the sealed file is the plaintext" || ok
only_files model model.key model.sealed

expect_run "unseal --verify-only" 0 ".verified and .digest == \"$DIGEST\" and
	.plaintext_length == 3000017 and .chunks == 3 and .resource == \"default/model/cli\"" -- \
	unseal --verify-only "$M/model.sealed" --key-file "$M/model.key"
expect_run "unseal --verify-only --threads 1" 0 ".verified" -- \
	unseal --verify-only --threads 1 "$M/model.sealed" --key-file "$M/model.key"
expect_run "unseal --info (no key)" 0 ".verified == false and .digest == \"$DIGEST\" and
	.cipher == \"AES-256-GCM\" and .chunk_size == 1048576" -- unseal --info "$M/model.sealed"
check "unseal is quiet off a terminal" 0 "$VEIL" unseal --verify-only "$M/model.sealed" \
	--key-file "$M/model.key"
[ ! -s "$TMP/err" ] && ok || bad "unseal wrote to stderr off a terminal"
# The key as 64 hex digits works too.
od -An -tx1 -v "$M/model.key" | tr -d ' \n' >"$TMP/hex.key"
echo >>"$TMP/hex.key"
check "unseal with a hex key file" 0 "$VEIL" unseal --verify-only "$M/model.sealed" \
	--key-file "$TMP/hex.key"

# Tampering: each is exit 1 and says what it found.
head -c 32 /dev/urandom >"$TMP/wrong.key"
check "wrong key" 1 "$VEIL" unseal --verify-only "$M/model.sealed" --key-file "$TMP/wrong.key"
grep -q "wrong key" "$TMP/err" && ok || bad "wrong key: says so"
cp "$M/model.sealed" "$TMP/flipped"
printf '\x55' | dd of="$TMP/flipped" bs=1 seek=2000000 conv=notrunc 2>/dev/null
check "a flipped byte" 1 "$VEIL" unseal --verify-only "$TMP/flipped" --key-file "$M/model.key"
grep -q "chunk 2 of 3 fails authentication" "$TMP/err" && ok || bad "flipped byte: names the chunk"
printf '\x02' | dd of="$TMP/flipped" bs=1 seek=40 conv=notrunc 2>/dev/null
check "a flipped header byte" 1 "$VEIL" unseal --verify-only "$TMP/flipped" --key-file "$M/model.key"
head -c 2000000 "$M/model.sealed" >"$TMP/cut"
check "truncated" 1 "$VEIL" unseal --verify-only "$TMP/cut" --key-file "$M/model.key"
grep -q "truncated" "$TMP/err" && ok || bad "truncated: says so"
{ cat "$M/model.sealed"; printf 'x'; } >"$TMP/long"
check "appended byte" 1 "$VEIL" unseal --verify-only "$TMP/long" --key-file "$M/model.key"
check "not a sealed file" 2 "$VEIL" unseal --verify-only "$M/model" --key-file "$M/model.key"
grep -q "not a sealed model" "$TMP/err" && ok || bad "not sealed: says so"
check "a key file of the wrong size" 2 "$VEIL" unseal --verify-only "$M/model.sealed" \
	--key-file "$M/model"

# Usage: refused before anything is written.
check "the key file exists" 2 "$VEIL" seal --in "$M/model" --out "$M/again.sealed" \
	--key-out "$M/model.key"
grep -q "never replaced" "$TMP/err" && ok || bad "existing key file: says why"
check "the output exists" 2 "$VEIL" seal --in "$M/model" --out "$M/model.sealed" \
	--key-out "$M/new.key"
check "a bad resource path" 2 "$VEIL" seal --in "$M/model" --out "$M/x.sealed" \
	--key-out "$M/x.key" --resource "default/../key"
check "a chunk size that is not a power of two" 2 "$VEIL" seal --in "$M/model" \
	--out "$M/x.sealed" --key-out "$M/x.key" --chunk-size 1000
check "no key destination" 2 "$VEIL" seal --in "$M/model" --out "$M/x.sealed"
check "two key destinations" 2 "$VEIL" seal --in "$M/model" --out "$M/x.sealed" \
	--key-out "$M/x.key" --kbs http://127.0.0.1:1 --admin-key "$M/x" --resource a/b/c
check "--kbs without --resource" 2 "$VEIL" seal --in "$M/model" --out "$M/x.sealed" \
	--kbs http://127.0.0.1:1 --admin-key "$M/x"
check "a folder as the model" 2 "$VEIL" seal --in "$M" --out "$M/x.sealed" --key-out "$M/x.key"
check "unseal writes no plaintext" 2 "$VEIL" unseal "$M/model.sealed" --key-file "$M/model.key"
grep -q "never written to disk" "$TMP/err" && ok || bad "unseal without --verify-only: says why"
check "unseal --verify-only without a key" 2 "$VEIL" unseal --verify-only "$M/model.sealed"
only_files model model.key model.sealed

# --force replaces the sealed file (with a new key); small chunks; empty.
check "seal --force" 0 "$VEIL" seal --in "$M/model" --out "$M/model.sealed" \
	--key-out "$M/model2.key" --force --chunk-size 4096
expect_run "the replaced file opens with the new key" 0 ".chunks == 733 and .chunk_size == 4096" -- \
	unseal --verify-only "$M/model.sealed" --key-file "$M/model2.key"
check "the old key no longer opens it" 1 "$VEIL" unseal --verify-only "$M/model.sealed" \
	--key-file "$M/model.key"
: >"$TMP/empty"
check "seal an empty model" 0 "$VEIL" seal --in "$TMP/empty" --out "$TMP/empty.sealed" \
	--key-out "$TMP/empty.key"
expect_run "an empty model verifies" 0 '.plaintext_length == 0 and .chunks == 1 and
	.digest == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"' -- \
	unseal --verify-only "$TMP/empty.sealed" --key-file "$TMP/empty.key"

# On a terminal (script(1) gives the command a pty), a progress line.
if command -v script >/dev/null; then
	script -qec "$VEIL unseal --verify-only $M/model.sealed --key-file $M/model2.key" \
		/dev/null >"$TMP/tty" 2>&1
	grep -q "verifying: .* of 2.9 MiB (100%)" "$TMP/tty" && ok ||
		bad "progress on a terminal ($(tr '\r' '\n' <"$TMP/tty" | head -c 300))"
fi

# The key in veil-kbs: sealed with the admin key, released to the sim TEE
# whose workload the policy names, and the model opened with what came back.
[ -x "$KBS_BIN" ] || { bad "$KBS_BIN is missing: make check-tests"; finish; }
S="$TMP/sim"
"$VEIL" sim init "$S" >/dev/null 2>&1 && ok || { bad "sim init"; finish; }
printf 'worker binary v1' >"$TMP/worker"
printf '{"model":"sealed"}' >"$TMP/worker.json"
MEAS="$("$VEIL" sim measure "$TMP/worker" "$TMP/worker.json")"
cat >"$TMP/policy.json" <<JSON
{"version": 1, "id": "seal-test",
 "sim": {"roots": ["$(cat "$S/root.sha256")"], "max_age_seconds": 300,
         "match": {"measurement": "workloads"}}}
JSON
cat >"$TMP/rv.json" <<JSON
{"version": 1, "expires": "2099-01-01T00:00:00Z", "sets": {"workloads": ["$MEAS"]}}
JSON
cat >"$TMP/resource-policy.json" <<JSON
{"version": 1,
 "rules": [{"resources": "default/model/*", "status": ["affirming"], "tee": ["sim"],
            "allow_insecure": true}]}
JSON
check "kbs keys" 0 "$VEIL" kbs keys --out "$TMP/admin"
check "kbs keys, an intruder" 0 "$VEIL" kbs keys --out "$TMP/intruder"
start admin --admin-key "$TMP/admin.pub.jwk" --policy "$TMP/policy.json" \
	--reference-values "$TMP/rv.json" --resource-policy "$TMP/resource-policy.json"

check "seal --kbs" 0 "$VEIL" seal --in "$M/model" --out "$M/kbs.sealed" --kbs "$URL_admin" \
	--admin-key "$TMP/admin.jwk" --resource default/model/sealed
grep -q "key stored in $URL_admin as default/model/sealed" "$TMP/out" && ok ||
	bad "seal --kbs says where the key went"
W=(--workload "$TMP/worker" --workload "$TMP/worker.json")
check "kbs fetch releases the key to the sim TEE" 0 "$VEIL" kbs fetch --url "$URL_admin" \
	--sim "$S" "${W[@]}" --out "$TMP/fetched.key" default/model/sealed
expect_run "the fetched key opens the model" 0 ".verified and .digest == \"$DIGEST\" and
	.resource == \"default/model/sealed\"" -- \
	unseal --verify-only "$M/kbs.sealed" --key-file "$TMP/fetched.key"
check "another workload gets no key" 1 "$VEIL" kbs fetch --url "$URL_admin" --sim "$S" \
	--workload "$TMP/worker" --out "$TMP/refused.key" default/model/sealed

# The broker refuses the key (another admin key) or cannot be reached:
# exit 1, and no sealed file is left without its key.
check "seal --kbs with another admin key" 1 "$VEIL" seal --in "$M/model" --out "$M/no.sealed" \
	--kbs "$URL_admin" --admin-key "$TMP/intruder.jwk" --resource default/model/other
grep -q "HTTP 401" "$TMP/err" && ok || bad "refused key: the broker's answer is shown"
check "seal --kbs with an admin key file that is not there" 2 "$VEIL" seal --in "$M/model" \
	--out "$M/no.sealed" --kbs "$URL_admin" --admin-key "$TMP/absent.jwk" --resource default/model/x
check "seal --kbs to no broker" 1 "$VEIL" seal --in "$M/model" --out "$M/no.sealed" \
	--kbs "http://127.0.0.1:1" --admin-key "$TMP/admin.jwk" --resource default/model/other
only_files kbs.sealed model model.key model.sealed model2.key

finish
