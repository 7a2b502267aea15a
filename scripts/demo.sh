#!/usr/bin/env bash
# The README's main command: the whole of Veil on one machine, on the
# simulated TEE, narrated for a newcomer. A model owner seals a model and
# gives its key to the key broker, which releases it only to the expected
# workload; two workers get the key and join the gateway, which admits them
# after checking their evidence; a user sends confidential requests with
# `veil chat` and, through `veil proxy`, with the official openai npm
# client, checks the receipts and audits the gateway's log; then a worker
# running other code is refused its key and admission, and with no
# attested worker left a confidential request fails at once. Ends with a
# table of what was proven, stops every process it started (also when
# interrupted) and exits non-zero if any step failed.
#
#   bash scripts/demo.sh [--no-setup]
#
# Without --no-setup it first runs scripts/setup.sh and builds with make;
# $BUILD names the build folder (default build).
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD="${BUILD:-build}"
if [ "${1:-}" != "--no-setup" ]; then
	bash scripts/setup.sh || exit 1
	make -s -j"$(nproc)" BUILD="$BUILD" all || exit 1
fi
. tests/cli/lib/expect.bash
. tests/cli/lib/node.bash
. tests/cli/lib/deploy.bash
export LC_ALL=C
for b in veil veil-kbs veil-gateway veil-worker; do
	[ -x "$BUILD/$b" ] || { echo "demo: $BUILD/$b is missing: run make (or drop --no-setup)" >&2; exit 1; }
done

# ---- narration and the summary table ----
STEPS=()
RESULTS=()
failed=0
# step RESULT TEXT: one row of the closing table.
step() {
	RESULTS+=("$1")
	STEPS+=("$2")
	if [ "$1" = ok ]; then
		printf '   ok: %s\n' "$2"
	else
		failed=$((failed + 1))
		printf '   FAILED: %s\n' "$2"
	fi
}
summary() {
	title "What was proven"
	local i
	for i in "${!STEPS[@]}"; do
		printf '   %-4s  %s\n' "${RESULTS[$i]}" "${STEPS[$i]}"
	done
	echo
	if [ "$failed" = 0 ]; then
		echo "demo: all ${#STEPS[@]} steps ok"
	else
		echo "demo: $failed of ${#STEPS[@]} steps FAILED"
	fi
}
# abort: a step the rest depends on failed; the table so far, exit 1 (the
# EXIT trap of deploy.bash stops what was started).
abort() {
	summary
	exit 1
}
title() { printf '\n== %s\n' "$*"; }
say() { printf '   %s\n' "$@"; }
# The command as one would type it: files by their name in $DEPLOY, the
# binaries by their name, arguments with spaces quoted.
shown() {
	local a out=""
	for a in "$@"; do
		a="${a//$DEPLOY\//}"
		a="${a#"$BUILD"/}"
		case "$a" in
		*\"*) a="'$a'" ;;
		*[\ \?\*]*) a="\"$a\"" ;;
		esac
		out="$out $a"
	done
	printf '   $%s\n' "$out"
}
# The model's answer without control characters (its random weights pick
# any token, escape sequences included).
printable() {
	local t
	t="$(tr -d '\000-\010\013-\037\177')"
	printf '%s\n' "$t"
}
indent() { sed "s|$DEPLOY/||g; s/^/     | /"; }
# wrapped: a long message (a refusal's reason) on lines of 76 characters.
wrapped() { sed "s|$DEPLOY/||g" | cut -c1-400 | fold -s -w 76 | indent; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
now() { date +%s.%N; }

cat <<'EOF'
Veil: confidential AI inference. A prompt is encrypted on the user's machine
to a key that only an attested worker's TEE holds; the gateway in between
routes it without being able to read it, and every answer carries a receipt
signed inside the TEE. This demo runs everything on this machine, on a
simulated TEE (real deployments use AMD SEV-SNP or Intel TDX with NVIDIA
GPUs; the checks are the same).
EOF
say "" "working files in $DEPLOY"

# ---- 1. the model owner ----
title "1. The model owner seals a model and hands its key to the key broker"
say "A tiny model with random weights is generated (its answers are gibberish: what" \
	"matters here is who produced them, and that nobody else could read them). It is" \
	"encrypted; only its digest is public."
if deploy_model chat; then
	step ok "a model generated and sealed (digest ${MODEL_SHA:0:16}...)"
else
	step FAIL "generating and sealing the model"
	abort
fi
say "The simulated platform: a CPU TEE with one GPU. The worker's code is" \
	"measured: this measurement is what everyone will expect."
say "expected workload measurement: ${MEASUREMENT:-?}"
if deploy_kbs; then
	say "veil-kbs at $KBS releases default/model/chat only to evidence that is" \
		"genuine, from this platform, with the expected measurement and a GPU in CC mode."
	step ok "the key broker holds the model key under a measurement policy"
else
	step FAIL "starting the key broker"
	abort
fi

# ---- 2. the operator ----
title "2. The operator starts the gateway and two workers"
deploy_gateway || { step FAIL "starting the gateway"; abort; }
say "veil-gateway at $GW (nobody has to trust it: it cannot read prompts)."
deploy_worker a wk-a
deploy_worker b wk-b
say "Each worker proves to the broker what it runs, gets the key, opens the" \
	"model in memory, then asks the gateway to admit it with fresh evidence."
t0="$(now)"
if deploy_wait_admitted 2 60; then
	step ok "the broker released the key to both workers; the gateway admitted them ($(secs "$t0" "$(now)") s)"
else
	step FAIL "the gateway admitted both workers"
	tail -n 3 "$DEPLOY/a.log" "$DEPLOY/b.log" "$GW_LOG" | indent
	abort
fi
command curl -s --max-time 10 "$GW/v1/attestation" |
	jq -r '.data[] | "\(.worker): \(.tee), model \(.model) sha256 \(.model_sha256[:16])..."' | indent

# ---- 3. the user: veil chat ----
title "3. A user asks a question with veil chat"
deploy_client_policy "$DEPLOY/client-policy.json" || step FAIL "writing the client policy"
say "The user's policy (client-policy.json) says what they accept: this platform's" \
	"root, the expected measurement, the model's digest, a GPU, the gateway's log key."
say "veil chat fetches a worker's evidence with its own nonce, checks it against" \
	"that policy, encrypts the prompt to the key in that evidence (OHTTP), and" \
	"checks the receipt signed inside the TEE."
PROMPT="What is confidential computing?"
CHAT=(chat --gateway "$GW" --policy "$DEPLOY/client-policy.json" --stream --show-attestation
	--save "$DEPLOY/saved" --max-tokens 16 --temperature 0 --prompt "$PROMPT")
shown veil "${CHAT[@]}"
"$VEIL" "${CHAT[@]}" >"$DEPLOY/chat.out" 2>"$DEPLOY/chat.err"
rc=$?
say "what veil chat found (stderr; the full appraisal, an EAR in JSON, left out here):"
sed '/^{/,/^}/d' "$DEPLOY/chat.err" | indent
say "the answer (stdout):"
printable <"$DEPLOY/chat.out" | indent
if [ "$rc" = 0 ] && grep -q 'receipt verified' "$DEPLOY/chat.err"; then
	step ok "veil chat: evidence verified, prompt encrypted end to end, receipt verified"
else
	step FAIL "veil chat (exit $rc)"
fi

title "4. Anyone can check that receipt later, offline"
VR=(verify-receipt "$DEPLOY/saved/receipt.jws" --evidence "$DEPLOY/saved/evidence.json"
	--request "$DEPLOY/saved/request.json" --response "$DEPLOY/saved/response"
	--policy "$DEPLOY/client-policy.json" --stream)
shown veil "${VR[@]}"
"$VEIL" "${VR[@]}" >"$DEPLOY/vr.out" 2>&1
rc=$?
indent <"$DEPLOY/vr.out"
[ "$rc" = 0 ] && step ok "the saved receipt verifies offline against the evidence and the bytes" ||
	step FAIL "veil verify-receipt (exit $rc)"

# ---- 5. any OpenAI client, through veil proxy ----
title "5. Any OpenAI client, unchanged, through veil proxy"
say "veil proxy is a local OpenAI endpoint: it does what veil chat does for every" \
	"request, and says in response headers which worker answered and that it verified."
PROXY=(proxy --gateway "$GW" --policy "$DEPLOY/client-policy.json" --listen 127.0.0.1:0
	--port-file "$DEPLOY/proxy.port")
shown veil "${PROXY[@]}" --api-key '$VEIL_API_KEY' '&'
"$VEIL" "${PROXY[@]}" --api-key "$API_KEY" 2>"$DEPLOY/proxy.log" &
PROXY_PID=$!
deploy_track "$PROXY_PID"
if deploy_wait_file "$DEPLOY/proxy.port" "$PROXY_PID" 10; then
	PURL="http://127.0.0.1:$(cat "$DEPLOY/proxy.port")"
	if command -v node >/dev/null && command -v npm >/dev/null &&
		[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] 2>/dev/null && npm_packages_ready; then
		shown node tests/interop/demo_openai.mjs "$PURL" chat "Tell me a secret."
		node tests/interop/demo_openai.mjs "$PURL" chat "Tell me a secret." >"$DEPLOY/node.out" 2>&1
		rc=$?
		indent <"$DEPLOY/node.out"
		say "(a stream's headers go out before its receipt arrives: receipt=pending; the proxy" \
			"checks the receipt at the end and cuts the stream if it fails)"
		affirmed="$(grep -c '^x-veil-verified: evidence=affirming' "$DEPLOY/node.out")"
		if [ "$rc" = 0 ] && grep -q '^whole: ' "$DEPLOY/node.out" && grep -q '^streamed: ' "$DEPLOY/node.out" &&
			[ "$affirmed" = 2 ] && grep -q '^x-veil-verified: .*receipt=verified' "$DEPLOY/node.out" &&
			[ "$(grep -c '^x-veil-worker: wk-[ab]$' "$DEPLOY/node.out")" = 2 ]; then
			step ok "the openai npm client through veil proxy: whole and streamed, X-Veil-Verified"
		else
			step FAIL "the openai npm client through veil proxy (exit $rc)"
			tail -n 3 "$DEPLOY/proxy.log" | indent
		fi
	else
		step FAIL "the openai npm client needs Node.js 20+ and tests/interop/node_modules (scripts/setup.sh)"
	fi
else
	step FAIL "veil proxy did not start"
	tail -n 3 "$DEPLOY/proxy.log" | indent
fi

# ---- 6. audit ----
title "6. Auditing the gateway's transparency log"
say "Every admission is in an append-only log with signed tree heads. veil audit" \
	"checks the log only grew, checks sampled entries are in it, and re-checks the" \
	"evidence they hold under the user's policy."
AUDIT=(audit --gateway "$GW" --policy "$DEPLOY/client-policy.json" --state "$DEPLOY/audit.state")
shown veil "${AUDIT[@]}"
"$VEIL" "${AUDIT[@]}" >"$DEPLOY/audit.out" 2>&1
rc=$?
head -n 20 "$DEPLOY/audit.out" | indent
[ "$rc" = 0 ] && step ok "veil audit: the log is consistent and its evidence verifies" ||
	step FAIL "veil audit (exit $rc)"

# ---- 7. refusals ----
title "7. A worker running other code"
say "Someone starts a worker with a modified binary (another measurement)."
printf 'veil-worker build 1, modified' >"$DEPLOY/evil.bin"
WK_BIN="$DEPLOY/evil.bin" GW="" deploy_worker evil wk-evil
if ! deploy_worker_wait evil 30 && [ "${WRC_evil:-}" = 2 ] &&
	grep -q 'not released\|contraindicated' "$DEPLOY/evil.log"; then
	say "the key broker refuses it the model key; the worker cannot start:"
	grep -o 'refused by the broker.*' "$DEPLOY/evil.log" | head -n 1 | wrapped
	step ok "the key broker refuses the model key to another workload"
else
	step FAIL "the key broker refuses the model key to another workload"
fi
say "" "Even if a host operator got hold of the key and gave it to that worker," \
	"the gateway checks the worker's evidence before routing anything to it:"
WK_BIN="$DEPLOY/evil.bin" KBS="" deploy_worker evil2 wk-evil
t0="$(now)"
for _ in $(seq 1 300); do
	grep -q '"event":"join.refused"' "$GW_LOG" && break
	sleep 0.1
done
if grep -q '"event":"join.refused"' "$GW_LOG" && ! deploy_admitted wk-evil; then
	grep '"event":"join.refused"' "$GW_LOG" | head -n 1 |
		jq -r '"gateway: admission refused for \(.worker) (\(.code)): \(.reason)"' 2>/dev/null |
		wrapped
	step ok "the gateway refuses to admit a worker with another measurement"
else
	step FAIL "the gateway refuses to admit a worker with another measurement"
fi

title "8. No attested worker left: confidential requests fail fast"
say "The two good workers stop; only the refused one still runs. A confidential" \
	"request must never fall back to it: it fails at once."
deploy_stop_worker a
deploy_stop_worker b
for _ in $(seq 1 100); do
	command curl -s --max-time 5 "$GW/v1/attestation" | jq -e '.data | length == 0' >/dev/null 2>&1 && break
	sleep 0.1
done
CHAT2=(chat --gateway "$GW" --policy "$DEPLOY/client-policy.json" --prompt "Still there?" --max-tokens 4)
shown veil "${CHAT2[@]}"
t0="$(now)"
"$VEIL" "${CHAT2[@]}" >"$DEPLOY/chat2.out" 2>"$DEPLOY/chat2.err"
rc=$?
t="$(secs "$t0" "$(now)")"
indent <"$DEPLOY/chat2.err"
say "exit $rc after $t s"
if [ "$rc" = 3 ] && [ ! -s "$DEPLOY/chat2.out" ] && awk -v t="$t" 'BEGIN { exit !(t < 5) }'; then
	step ok "veil chat refuses at once when no attested worker is left (exit 3, $t s)"
else
	step FAIL "veil chat with no attested worker (exit $rc, $t s, want 3 quickly)"
fi
shown curl -H 'Authorization: Bearer $VEIL_API_KEY' -H 'X-Veil-Confidential: required' \
	"$GW/v1/chat/completions" -d '{"model":"chat",...}'
r="$(command curl -s --max-time 10 -o "$DEPLOY/ff.json" -w '%{http_code} %{time_total}' \
	-H "Authorization: Bearer $API_KEY" -H 'X-Veil-Confidential: required' "$GW/v1/chat/completions" \
	-d '{"model":"chat","messages":[{"role":"user","content":"hi"}],"max_tokens":4}')"
jq -r '"\(.error.type) (\(.error.code)): \(.error.message)"' "$DEPLOY/ff.json" 2>/dev/null | wrapped
say "HTTP ${r%% *} in ${r#* } s"
if [ "${r%% *}" = 503 ] && awk -v t="${r#* }" 'BEGIN { exit !(t < 0.5) }' &&
	jq -e '.error.code == "no_confidential_worker"' "$DEPLOY/ff.json" >/dev/null 2>&1; then
	step ok "the gateway answers a confidential request 503 at once (${r#* } s), never the unattested worker"
else
	step FAIL "the gateway's fail-fast 503 ($r)"
fi

# ---- 9. real hardware evidence, from the shared test data ----
if [ -f "$TD/tdx/phala-dcap-qvl/tdx_quote" ]; then
	title "9. The same verifier on real hardware evidence: an Intel TDX quote"
	V=(verify --at 2025-07-19T10:00:34Z --certs "$TD/tdx/phala-dcap-qvl/tdx_quote_collateral.json"
		"$TD/tdx/phala-dcap-qvl/tdx_quote")
	shown veil "${V[@]}"
	"$VEIL" "${V[@]}" >"$DEPLOY/tdx.out" 2>&1 && step ok "a real Intel TDX quote verifies against Intel's collateral" ||
		{ head -n 5 "$DEPLOY/tdx.out" | indent; step FAIL "verifying a real Intel TDX quote"; }
fi

# ---- the end ----
deploy_stop
left="$(ps -eo args= | grep -F "$DEPLOY" | grep -v grep | grep -c '^[^ ]*veil' || true)"
[ "$left" = 0 ] && step ok "every process the demo started has stopped" ||
	step FAIL "$left processes the demo started are still running"

summary
[ "$failed" = 0 ]
