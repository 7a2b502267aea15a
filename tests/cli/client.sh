#!/usr/bin/env bash
# `veil chat` end to end (docs/client.md), with the real daemons on
# loopback (tests/cli/lib/deploy.bash): veil-kbs releasing the model key to
# the expected workload, two workers that fetch it and join veil-gateway.
# Answers, whole and streamed, with the worker named and the receipt
# verified, from the prompt option and from stdin; the appraisal shown;
# saved exchanges checked offline by veil verify-receipt (and refused once
# altered); evidence from the gateway's log. Then every refusal with its exit
# status and the check it names: a client policy expecting another
# measurement or another model digest, a debug platform admitted by a
# lenient gateway, an answer altered or cut short on the way
# (tests/cli/lib/tamper_relay.py), another log key; and the unavailable
# cases: no gateway, no worker for the model, a wrong API key.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/deploy.bash
export LC_ALL=C
for b in veil veil-kbs veil-gateway veil-worker; do
	[ -x "${BUILD:-build}/$b" ] || { bad "${BUILD:-build}/$b is missing: make check-tests"; finish; }
done
"$PY" -c 'import numpy' 2>/dev/null || { bad "$PY cannot import numpy (scripts/setup.sh)"; finish; }

# chat NAME ARGS...: veil chat --gateway $GW ARGS; stdout in $TMP/NAME.out,
# stderr in $TMP/NAME.err, the exit status in RC (and $TMP/NAME.rc). The
# prompt goes in --prompt unless ARGS give stdin another way.
chat() {
	local name="$1"
	shift
	timeout 60 "$VEIL" chat "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	RC=$?
	echo "$RC" >"$TMP/$name.rc"
}
# refused NAME WANT-EXIT REGEX ARGS...: chat must exit WANT-EXIT, print no
# answer, and say on stderr what failed: REGEX (extended) matches the check
# as chat names it, "refused (CHECK)" or "CHECK check failed", and why.
refused() {
	local name="$1" want="$2" why="$3"
	shift 3
	chat "$name" "$@"
	[ "$RC" = "$want" ] && ok || { bad "$name: exit $RC, want $want"; sed 's/^/    /' "$TMP/$name.err" | head -5; }
	grep -Eiq -- "$why" "$TMP/$name.err" && ok ||
		{ bad "$name: stderr does not name /$why/"; sed 's/^/    /' "$TMP/$name.err" | head -5; }
	[ ! -s "$TMP/$name.out" ] && ok || bad "$name: an answer was printed: $(head -c 200 "$TMP/$name.out")"
}
VERIFIED='^veil: worker wk-[ab] \(sim, affirming\): receipt verified'

# ---- the deployment ----
deploy_model chat || { bad "deploy_model"; finish; }
deploy_kbs || { bad "deploy_kbs"; finish; }
deploy_gateway || { bad "deploy_gateway"; finish; }
deploy_worker a wk-a
deploy_worker b wk-b
deploy_wait_admitted 2 60 && ok || { bad "the workers were not admitted"; tail -n 3 "$DEPLOY"/*.log; finish; }
P="$TMP/policy.json"
deploy_client_policy "$P" && ok || { bad "deploy_client_policy"; finish; }
G=(--gateway "$GW" --policy "$P" --max-tokens 12 --temperature 0)

# ---- answers ----
chat whole "${G[@]}" --prompt "hello there"
[ "$RC" = 0 ] && ok || { bad "chat: exit $RC"; sed 's/^/    /' "$TMP/whole.err" | head -5; }
[ -s "$TMP/whole.out" ] && ok || bad "chat: no answer on stdout"
grep -Eq "$VERIFIED" "$TMP/whole.err" && ok || { bad "chat: stderr does not name the worker and the receipt"; head -3 "$TMP/whole.err"; }
chat stream "${G[@]}" --stream --prompt "hello there"
[ "$RC" = 0 ] && ok || { bad "chat --stream: exit $RC"; sed 's/^/    /' "$TMP/stream.err" | head -5; }
grep -Eq "$VERIFIED" "$TMP/stream.err" && ok || bad "chat --stream: stderr does not name the worker and the receipt"
[ -s "$TMP/stream.out" ] && cmp -s "$TMP/whole.out" "$TMP/stream.out" && ok ||
	bad "whole and streamed answers differ at temperature 0: '$(head -c 100 "$TMP/whole.out")' vs '$(head -c 100 "$TMP/stream.out")'"
printf 'hello there' | timeout 60 "$VEIL" chat "${G[@]}" >"$TMP/stdin.out" 2>"$TMP/stdin.err"
rc=$?
[ "$rc" = 0 ] && grep -Eq "$VERIFIED" "$TMP/stdin.err" && cmp -s "$TMP/stdin.out" "$TMP/whole.out" && ok ||
	bad "the prompt from stdin (exit $rc): '$(head -c 100 "$TMP/stdin.out")'"
# A prompt that is not UTF-8 cannot be a JSON string: a usage error, and
# nothing sent (not an empty conversation in its place).
printf 'caf\xe9' | timeout 60 "$VEIL" chat "${G[@]}" >"$TMP/latin1.out" 2>"$TMP/latin1.err"
rc=$?
[ "$rc" = 2 ] && grep -q "not UTF-8" "$TMP/latin1.err" && [ ! -s "$TMP/latin1.out" ] && ok ||
	{ bad "a prompt that is not UTF-8: exit $rc, want 2"; head -3 "$TMP/latin1.err"; }
# Messages never hold the prompt or the answer.
grep -q 'hello there' "$TMP/whole.err" "$TMP/stream.err" && bad "the prompt appears on stderr" || ok

# --json: one object per answer, the same text.
chat json "${G[@]}" --json --prompt "hello there"
[ "$RC" = 0 ] && jq -e '.receipt_verified == true and (.worker | test("^wk-[ab]$")) and .status == 200 and
	.evidence == "affirming" and .tee == "sim" and (.receipt | split(".") | length) == 3' "$TMP/json.out" \
	>/dev/null && ok || { bad "chat --json (exit $RC): $(head -c 300 "$TMP/json.out")"; }
[ "$(jq -j .text "$TMP/json.out" 2>/dev/null)" = "$(cat "$TMP/whole.out")" ] && ok ||
	bad "chat --json: the text differs from the plain answer"
# The worker refusing the request (max_tokens over its cap): exit 4, with
# the refusal's receipt verified.
chat apierror "${G[@]}" --max-tokens 100000 --prompt "hi"
[ "$RC" = 4 ] && grep -Eq "${VERIFIED#^}.*refused" "$TMP/apierror.err" && ok ||
	{ bad "a worker's API error: exit $RC, want 4 with the receipt verified"; head -3 "$TMP/apierror.err"; }

# --show-attestation: the appraisal, affirming, naming the measurement.
chat attest "${G[@]}" --show-attestation --prompt "hi"
[ "$RC" = 0 ] && ok || bad "chat --show-attestation: exit $RC"
cat "$TMP/attest.out" "$TMP/attest.err" >"$TMP/attest.all"
grep -q affirming "$TMP/attest.all" && grep -q "${MEASUREMENT:0:32}" "$TMP/attest.all" && ok ||
	{ bad "--show-attestation does not show the affirming appraisal with the measurement"; head -c 600 "$TMP/attest.all"; }
[ "$(wc -l <"$TMP/attest.err")" -gt "$(wc -l <"$TMP/whole.err")" ] && ok ||
	bad "--show-attestation adds nothing to stderr"

# ---- saved exchanges, checked offline ----
for mode in whole stream; do
	S="$TMP/saved-$mode"
	extra=()
	[ "$mode" = stream ] && extra=(--stream)
	chat save-$mode "${G[@]}" "${extra[@]}" --save "$S" --prompt "keep this"
	[ "$RC" = 0 ] && ok || { bad "chat --save ($mode): exit $RC"; continue; }
	for f in request.json response receipt.jws evidence.json; do
		[ -s "$S/$f" ] && ok || bad "chat --save ($mode): $f is missing"
	done
	[ -s "$S/receipt.jws" ] || continue
	V=("$VEIL" verify-receipt "$S/receipt.jws" --evidence "$S/evidence.json" --policy "$P" "${extra[@]}")
	"${V[@]}" --request "$S/request.json" --response "$S/response" >"$TMP/vr.out" 2>&1 && ok ||
		{ bad "verify-receipt on what chat saved ($mode): exit $?"; head -5 "$TMP/vr.out"; }
	"${V[@]}" >/dev/null 2>&1 && ok || bad "verify-receipt without the bytes ($mode)"
	# Altered: the answer, then the receipt's signature.
	# (an "x" at the start of the first content: the answer's text changes,
	# whatever digest the receipt holds, of the body or of the text)
	sed -E '0,/"content": ?"/s//&x/' "$S/response" >"$TMP/resp.bad"
	cmp -s "$S/response" "$TMP/resp.bad" && bad "the response was not altered ($mode)"
	"${V[@]}" --request "$S/request.json" --response "$TMP/resp.bad" >"$TMP/vr.out" 2>&1
	rc=$?
	[ "$rc" = 1 ] && grep -qi 'response\|receipt\|digest' "$TMP/vr.out" && ok ||
		{ bad "verify-receipt on an altered response ($mode): exit $rc, want 1"; head -3 "$TMP/vr.out"; }
	jws="$(cat "$S/receipt.jws")"
	last="${jws: -2:1}"
	[ "$last" = A ] && swap=B || swap=A
	printf '%s' "${jws:0:${#jws}-2}$swap${jws: -1}" >"$TMP/receipt.bad"
	"$VEIL" verify-receipt "$TMP/receipt.bad" --evidence "$S/evidence.json" --policy "$P" "${extra[@]}" \
		--request "$S/request.json" --response "$S/response" >"$TMP/vr.out" 2>&1
	rc=$?
	[ "$rc" = 1 ] && ok || { bad "verify-receipt on an altered signature ($mode): exit $rc, want 1"; head -3 "$TMP/vr.out"; }
done
jq -e --arg p "keep this" '.messages[0].content == $p' "$TMP/saved-whole/request.json" >/dev/null && ok ||
	bad "request.json is not the request sent"
jq -e '.runtime_data["veil-worker"].id | test("^wk-[ab]$")' "$TMP/saved-whole/evidence.json" >/dev/null &&
	ok || bad "evidence.json is not a worker's bundle"

# ---- the gateway's log ----
chat logged "${G[@]}" --logged --prompt "hello there"
[ "$RC" = 0 ] && grep -Eq "$VERIFIED" "$TMP/logged.err" && ok ||
	{ bad "chat --logged: exit $RC"; head -3 "$TMP/logged.err"; }
"$VEIL" kbs keys --type p256 --out "$TMP/other" >/dev/null 2>&1
jq --slurpfile k "$TMP/other.pub.jwk" '.log_key = $k[0]' "$P" >"$TMP/p-logkey.json"
refused logkey 1 '\(log\).*tree head' --gateway "$GW" --policy "$TMP/p-logkey.json" --logged --prompt "hi"

# ---- refusals: the policy ----
deploy_client_policy "$TMP/p-measure.json" ".reference_values.sets.workloads = [\"$(printf '0%.0s' $(seq 96))\"]"
refused measurement 1 '\(policy\).*measurement' --gateway "$GW" --policy "$TMP/p-measure.json" --prompt "hi"
deploy_client_policy "$TMP/p-model.json" ".models.chat = [\"$(printf '0%.0s' $(seq 64))\"]"
refused model 1 '\(model\).*digest' --gateway "$GW" --policy "$TMP/p-model.json" --prompt "hi"
deploy_client_policy "$TMP/p-root.json" ".appraisal.sim.roots = [\"$(printf 'a%.0s' $(seq 64))\"]"
refused root 1 '\(verify\).*root' --gateway "$GW" --policy "$TMP/p-root.json" --prompt "hi"

# A debug platform: a copy of the sim platform whose platform.json says
# debug, a gateway whose admission policy allows debug, a worker on that
# platform admitted there (with the key given to it: the broker's policy
# does not allow debug); without API keys, so that $API_KEY stays the first
# gateway's. A client policy that forbids debug (the default)
# refuses it; one that allows it accepts the same worker.
GW_A="$GW"
deploy_sim "$TMP/sim-debug" '.debug = true' && ok || bad "deploy_sim debug"
jq '.allow_debug = true' "$POLICY" >"$TMP/policy-debug.json"
GW_POLICY="$TMP/policy-debug.json" DEPLOY_ACCOUNTS=0 deploy_gateway || { bad "the lenient gateway"; finish; }
SIM="$TMP/sim-debug" KBS="" deploy_worker dbg wk-dbg
deploy_wait_admitted 1 60 && ok || { bad "the debug worker was not admitted"; tail -n 3 "$DEPLOY/dbg.log"; }
deploy_client_policy "$TMP/p-gw2.json"
refused debug 1 '\(policy\)' --gateway "$GW" --policy "$TMP/p-gw2.json" --prompt "hi"
grep -q 'debug is on' "$TMP/debug.err" && ok || bad "the debug refusal does not say debug: $(head -c 300 "$TMP/debug.err")"
deploy_client_policy "$TMP/p-gw2-debug.json" '.appraisal.allow_debug = true'
chat debug-ok --gateway "$GW" --policy "$TMP/p-gw2-debug.json" --prompt "hi" --max-tokens 4
[ "$RC" = 0 ] && grep -q 'worker wk-dbg' "$TMP/debug-ok.err" && ok ||
	{ bad "a client policy allowing debug accepts the debug worker (exit $RC)"; head -3 "$TMP/debug-ok.err"; }
GW="$GW_A"

# ---- refusals: the answer altered on the way ----
# relay NAME MODE: tests/cli/lib/tamper_relay.py in front of $GW; sets RELAY.
relay() {
	local pid
	rm -f "$TMP/$1.port"
	"$PY" tests/cli/lib/tamper_relay.py --upstream "$GW" --mode "$2" --port-file "$TMP/$1.port" \
		2>"$TMP/$1.log" &
	pid=$!
	deploy_track "$pid"
	deploy_wait_file "$TMP/$1.port" "$pid" 10 || { bad "the relay $1 did not start"; cat "$TMP/$1.log"; return 1; }
	RELAY="http://127.0.0.1:$(cat "$TMP/$1.port")"
}
if relay pass pass; then
	chat relay-pass --gateway "$RELAY" --policy "$P" --prompt "hello there" --max-tokens 12 --temperature 0
	[ "$RC" = 0 ] && cmp -s "$TMP/relay-pass.out" "$TMP/whole.out" && ok ||
		{ bad "through the relay unchanged: exit $RC"; head -3 "$TMP/relay-pass.err"; }
fi
if relay flip flip; then
	refused flip-whole 1 'decrypt check failed' --gateway "$RELAY" --policy "$P" --prompt "hi"
	refused flip-stream 1 'decrypt check failed' --gateway "$RELAY" --policy "$P" --stream --prompt "hi"
	[ "$(grep -c '^relay: flip' "$TMP/flip.log")" -ge 2 ] && ok || bad "the relay flipped nothing: $(cat "$TMP/flip.log")"
fi
if relay cut truncate; then
	chat truncated --gateway "$RELAY" --policy "$P" --stream --prompt "hi" --max-tokens 12
	[ "$RC" = 1 ] && ok || { bad "truncated: exit $RC, want 1"; head -3 "$TMP/truncated.err"; }
	grep -Eqi 'truncat|cut short' "$TMP/truncated.err" && ok || bad "truncated: stderr does not say so: $(head -c 300 "$TMP/truncated.err")"
	grep -Eq "$VERIFIED" "$TMP/truncated.err" && bad "truncated: a receipt was reported verified" || ok
	grep -q '^relay: truncate' "$TMP/cut.log" && ok || bad "the relay cut nothing: $(cat "$TMP/cut.log")"
fi

# ---- unavailable ----
refused nogateway 3 '\(fetch\).*connect' --gateway "http://127.0.0.1:$(deploy_free_port)" \
	--policy "$P" --prompt "hi"
deploy_client_policy "$TMP/p-other.json" ".models.other = [\"$MODEL_SHA\"]"
t0="$(date +%s%N)"
refused nomodel 3 '\(unavailable\).*model other' --gateway "$GW" --policy "$TMP/p-other.json" --model other --prompt "hi"
[ $((($(date +%s%N) - t0) / 1000000)) -lt 3000 ] && ok || bad "no worker for the model: not at once"
VEIL_API_KEY=vk_nope refused badkey 3 'answered 401' "${G[@]}" --prompt "hi"
VEIL_API_KEY="" chat flagkey "${G[@]}" --api-key "$API_KEY" --prompt "hi"
[ "$RC" = 0 ] && ok || { bad "--api-key (exit $RC)"; head -3 "$TMP/flagkey.err"; }

# ---- usage ----
refused nopolicy 2 '--policy' --gateway "$GW" --prompt "hi"
printf '{"version": 1, "nope": 1}' >"$TMP/p-bad.json"
refused badpolicy 2 'unknown member "nope"' --gateway "$GW" --policy "$TMP/p-bad.json" --prompt "hi"
refused nofile 2 'cannot open.*missing.json' --gateway "$GW" --policy "$TMP/missing.json" --prompt "hi"
[ -n "${KEEP_ERRS:-}" ] && mkdir -p "$KEEP_ERRS" && cp "$TMP"/*.err "$TMP"/*.log "$KEEP_ERRS/" 2>/dev/null
finish
