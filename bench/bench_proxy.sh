#!/usr/bin/env bash
# bench_proxy.sh - time to first token and tokens per second through
# `veil proxy` (end to end encrypted, receipts verified) against the same
# request sent plain to the gateway (docs/performance.md "veil proxy vs
# plain").
#
#   make -j2 build/veil build/veil-worker build/veil-gateway build/veil-kbs
#   bench/bench_proxy.sh                    # or BUILD=build-x bench/bench_proxy.sh
#   ROUNDS=100 CONFIGS=model bench/bench_proxy.sh
#
# The defaults take about 15 seconds on a 2-core machine. Needs curl, jq and
# python3 with numpy (for the generated model; scripts/setup.sh); runs as
# the current user, on loopback, in a temporary folder under $TMPDIR, and
# builds nothing. Not part of `make test`.
#
# The deployment is tests/cli/lib/deploy.bash's: a sim platform with one
# GPU, a generated model sealed to a key that veil-kbs releases only to the
# expected workload, veil-gateway (no accounts unless ACCOUNTS=1;
# re-attestation every 10 minutes, so none falls inside a run), and WORKERS
# veil-workers that fetch the key and are admitted on their evidence. Then
# `veil proxy` with the deployment's client policy. For each configuration
# of CONFIGS, fresh workers and a fresh proxy:
#
#   model        the workers run a generated llama model (MODEL_ARGS, for
#                tests/models/gen_gguf.py) with the built-in engine: real
#                tokens, MAX_TOKENS of them, one SSE event each (the bytes
#                of a character split over tokens go out together)
#   bench-reply  the workers run with --bench-reply (docs/worker.md
#                "Benchmark mode": every answer is "ok" at once, receipts
#                signed), so the time to first token is the platform's own
#                overhead alone; the client policy lists "bench-reply" in
#                "engines". One text event: no tokens per second.
#
# bench/proxy_timing.py sends the same streamed chat completion (a fixed
# prompt, temperature 0, seed 1, max_tokens MAX_TOKENS, usage asked) to the
# two paths in interleaved rounds, WARMUP each first (not counted: the
# proxy's first request fetches and judges the workers' evidence), then
# ROUNDS rounds of plain, proxy:
#
#   plain  POST /v1/chat/completions to the gateway, JSON, with
#          X-Veil-Confidential: required, so it goes to the same admitted
#          workers (the gateway sends it to the worker in plaintext)
#   proxy  POST /v1/chat/completions to veil proxy, which sends it as
#          chunked OHTTP to the worker it verified (cached), decrypts each
#          event as it arrives and verifies the receipt before [DONE]
#
# and prints, for each path, the median and slow tail (p90 of times, p10 of
# rates) of the time to first token (sending to the first event with text)
# and of tokens per second (text events after the first over the time from
# the first to the last), then the proxy's TTFT less plain's and its tokens
# per second over plain's, taken round by round, and whether issue 10's
# targets are met (at most 2 ms added, at least 0.97 of plain's rate: the
# medians of the round-by-round figures); and the CPU time the proxy, the
# gateway and the workers spent per request. Every answer must be 200, end
# with [DONE] and have the same text, and the proxy must log each one as
# verified.
#
# JSON=1 adds a "VEIL-PROXY-BENCH {...}" line per configuration. PERF=1
# records a perf profile of the proxy during each configuration's rounds
# and prints where its CPU goes (PERF_OPTS, default "-F 999 --call-graph
# dwarf,8192", are perf record's options). KEEP=1 keeps the folder (the
# daemons' logs, every request's figures in requests-CONFIG.jsonl).
# WORKERS=N starts N workers (the proxy and the gateway spread requests
# over them); PROMPT, MAX_TOKENS and MODEL_ARGS change the request and the
# model.
#
# Everything shares the machine's cores (nothing is pinned): the proxy's
# CPU is taken from the worker and the client. Compare within one run.
#
# Exit status: 0, or 1 when something did not start or a request failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export LC_ALL=C
export BUILD="${BUILD:-build}"
ROUNDS="${ROUNDS:-200}"
WARMUP="${WARMUP:-3}"
MAX_TOKENS="${MAX_TOKENS:-64}"
WORKERS="${WORKERS:-1}"
CONFIGS="${CONFIGS:-model bench-reply}"
ACCOUNTS="${ACCOUNTS:-0}"
JSON="${JSON:-0}"
PERF="${PERF:-0}"
PROMPT="${PROMPT:-Tell me a story about a lighthouse keeper and the sea.}"
# About 0.18 ms a token on one engine thread (and 9 ms for the prompt):
# tokens come far faster than a real model's, so any cost per event shows.
MODEL_ARGS="${MODEL_ARGS:---arch llama --vocab spm --template chatml --type Q8_0 --dim 256 --hidden 768
	--layers 4 --heads 8 --kv-heads 4 --ctx 1024 --seed 9}"
VEIL="$BUILD/veil"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/veil-bench-proxy.XXXXXX")" || exit 1

die() {
	echo "bench_proxy: $*" >&2
	exit 1
}
for b in "$VEIL" "$BUILD/veil-worker" "$BUILD/veil-gateway" "$BUILD/veil-kbs"; do
	[ -x "$b" ] || { rm -rf "$TMP"; die "$b is missing: make BUILD=$BUILD $b"; }
done
[ "$PERF" = 1 ] && ! command -v perf >/dev/null && { rm -rf "$TMP"; die "PERF=1 needs perf"; }
for c in curl jq; do
	command -v "$c" >/dev/null || { rm -rf "$TMP"; die "$c is missing (scripts/setup.sh)"; }
done

# shellcheck source=tests/cli/lib/deploy.bash
. tests/cli/lib/deploy.bash
if [ "${KEEP:-0}" = 1 ]; then
	trap 'deploy_stop; echo "bench_proxy: kept $TMP" >&2' EXIT
fi
"$PY" -c 'import numpy' 2>/dev/null || die "$PY cannot import numpy (scripts/setup.sh)"

wait_for() { # SECONDS COMMAND...
	local t="$1"
	shift
	for _ in $(seq 1 $((t * 20))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
none_admitted() {
	_deploy_curl -sf "$GW/v1/attestation" 2>/dev/null | jq -e '.data | length == 0' >/dev/null 2>&1
}

# ---- the deployment: platform, model, key broker, gateway ----
deploy_model chat || die "deploy_model"
# deploy_model's model is the test suite's smallest; the benchmark's is
# larger, so that tokens take time to make. Same name, same workload
# measurement (the workload does not include the model); a new key and
# digest.
# shellcheck disable=SC2086 # MODEL_ARGS is a list of options
"$PY" tests/models/gen_gguf.py --out "$MODEL_GGUF" $MODEL_ARGS >"$DEPLOY/gen.log" 2>&1 ||
	die "generating the model: $(tail -n 3 "$DEPLOY/gen.log")"
rm -f "$MODEL_SEALED" "$MODEL_KEY"
"$VEIL" seal --in "$MODEL_GGUF" --out "$MODEL_SEALED" --key-out "$MODEL_KEY" \
	--resource "default/model/$MODEL" >"$DEPLOY/seal.log" 2>&1 || die "veil seal: $(tail -n 3 "$DEPLOY/seal.log")"
MODEL_SHA="$(sha256sum "$MODEL_GGUF" | cut -d' ' -f1)"
deploy_kbs || die "deploy_kbs"
[ "$ACCOUNTS" = 1 ] || export DEPLOY_ACCOUNTS=0
deploy_gateway --reattest 600 --health 60 || die "deploy_gateway"
GW_HP="${GW#http://}"
PLAIN_HDR=(--plain-header "X-Veil-Confidential:required")
[ "$ACCOUNTS" = 1 ] && PLAIN_HDR+=(--plain-header "Authorization:Bearer $API_KEY")

jq -n --arg m "$MODEL" --arg p "$PROMPT" --argjson n "$MAX_TOKENS" \
	'{model: $m, messages: [{role: "user", content: $p}], max_tokens: $n, temperature: 0, seed: 1,
	  stream: true, stream_options: {include_usage: true}}' >"$TMP/body.json"

echo "bench_proxy: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $WORKERS worker(s)," \
	"$ROUNDS rounds after $WARMUP warm-up, max_tokens $MAX_TOKENS, accounts $ACCOUNTS"

# ---- one configuration: fresh workers, a fresh proxy ----
run_config() { # NAME
	local cfg="$1" wargs=() filter=. i names=() pid
	[ "$cfg" = bench-reply ] && wargs=(--bench-reply) filter='.engines = ["builtin", "bench-reply"]'
	for i in $(seq 1 "$WORKERS"); do
		deploy_worker "${cfg//-/_}$i" "wk-$cfg-$i" "${wargs[@]}"
		names+=("${cfg//-/_}$i")
	done
	for i in "${names[@]}"; do
		deploy_worker_wait "$i" 60 || die "worker $i did not start: $(tail -n 3 "$DEPLOY/$i.log")"
	done
	deploy_wait_admitted "$WORKERS" 60 || die "the workers were not admitted: $(tail -n 3 "$GW_LOG")"
	deploy_client_policy "$TMP/client-$cfg.json" "$filter" || die "deploy_client_policy"
	rm -f "$TMP/proxy-$cfg.port"
	"$VEIL" proxy --gateway "$GW" --policy "$TMP/client-$cfg.json" --listen 127.0.0.1:0 \
		--port-file "$TMP/proxy-$cfg.port" 2>"$TMP/proxy-$cfg.log" &
	pid=$!
	deploy_track "$pid"
	deploy_wait_file "$TMP/proxy-$cfg.port" "$pid" 10 ||
		die "veil proxy did not start: $(tail -n 3 "$TMP/proxy-$cfg.log")"
	local json=() wpids=""
	[ "$JSON" = 1 ] && json=(--json)
	for i in "${names[@]}"; do wpids="$wpids${wpids:+,}$(eval echo "\$WPID_$i")"; done
	local perf_pid=""
	if [ "$PERF" = 1 ]; then
		# shellcheck disable=SC2086 # PERF_OPTS is a list of options
		perf record -q ${PERF_OPTS:--F 999 --call-graph dwarf,8192} -p "$pid" -o "$TMP/perf-$cfg.data" \
			>/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.5
	fi
	echo
	"$PY" bench/proxy_timing.py --plain "$GW_HP" --proxy "127.0.0.1:$(cat "$TMP/proxy-$cfg.port")" \
		--body "$TMP/body.json" --rounds "$ROUNDS" --warmup "$WARMUP" "${PLAIN_HDR[@]}" \
		--label "$cfg" --cpu "proxy=$pid" --cpu "gateway=$GW_PID" --cpu "worker=$wpids" \
		--dump "$TMP/requests-$cfg.jsonl" "${json[@]}" ||
		die "$cfg: the rounds failed (proxy log: $(tail -n 2 "$TMP/proxy-$cfg.log"))"
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid"
		wait "$perf_pid"
		echo "perf: veil proxy during the rounds ($cfg, warm-up included); by library (self time):"
		perf report -i "$TMP/perf-$cfg.data" --stdio --no-children --sort dso 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 8
		# Inclusive shares (they overlap) of the request path's steps.
		echo "under each function (inclusive):"
		perf report -i "$TMP/perf-$cfg.data" --stdio --children --sort sym -g none 2>/dev/null |
			grep -E ' (forward_completion|veil_client_request|veil_ohttp_chunked_request_begin|'`
			`'veil_http_client_fetch|veil_sse_feed|json_loadb|on_event|veil_receipt_verify|'`
			`'veil_client_pick|event_base_loop|entry_SYSCALL_64_after_hwframe)$' |
			awk '{printf "  %7s  %s\n", $1, $NF}'
	fi
	# The proxy's log says each answer verified; anything else is a failure.
	local logged
	logged="$(grep '^veil proxy: POST ' "$TMP/proxy-$cfg.log")"
	if [ -z "$logged" ] || grep -vq ' 200 verified stream ' <<<"$logged"; then
		die "$cfg: the proxy logged an answer that was not verified: $(grep -v ' 200 verified stream ' <<<"$logged" | tail -n 2)"
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for i in "${names[@]}"; do deploy_stop_worker "$i"; done
	wait_for 10 none_admitted || die "$cfg: the workers did not leave the gateway"
}

for cfg in $CONFIGS; do
	case "$cfg" in model | bench-reply) run_config "$cfg" ;; *) die "unknown configuration $cfg" ;; esac
done
