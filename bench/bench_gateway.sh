#!/usr/bin/env bash
# bench_gateway.sh - veil-gateway against nginx as a plain reverse proxy, in
# front of the same veil-worker (docs/performance.md "Gateway vs nginx").
#
#   scripts/setup.sh
#   make -j2 build/veil build/veil-worker build/veil-gateway
#   bench/bench_gateway.sh                  # or BUILD=build-x bench/bench_gateway.sh
#   DURATION=10 WARMUP=3 PAIRINGS=2 bench/bench_gateway.sh   # longer, one pairing
#
# Two pairings with the defaults take about five minutes.
#
# Needs wrk and nginx-light (scripts/setup.sh installs them); runs as the
# current user, on loopback, in a temporary folder under $TMPDIR, and
# builds nothing. Not part of `make test`.
#
# What runs, for each pairing P of PAIRINGS (gateway --threads P against
# nginx worker_processes P; a pairing is a fresh set of processes):
#
#   - a worker in benchmark mode (veil-worker --bench-reply: every
#     completion is "ok" at once, streamed or whole, receipts signed) on the
#     simulated TEE, which joins the gateway and is admitted on its evidence
#     (the real admission path), and a second worker that runs a small
#     model, for streams whose chunks come apart in time;
#   - veil-gateway (no accounts: no API keys or rate limits, as nginx has
#     none; it still checks each answer's receipt), and nginx from
#     bench/nginx-gateway.conf.in with upstream keep-alive, proxying to the
#     same two workers.
#
# Throughput: wrk (WRK_THREADS threads, CONNS connections, bench/wrk_chat.lua
# POSTing a small chat completion) for WARMUP seconds (discarded), then
# DURATION seconds measured, against each target of TARGETS in turn; ROUNDS
# rounds, each in another order, so a burst of load elsewhere hits every
# target. Targets: direct (the worker, the baseline), nginx, gateway,
# gateway-conf (X-Veil-Confidential: required), and nginx-stream /
# gateway-stream (the same with "stream": true). It prints requests per
# second, p50 and p99 latency (medians over the rounds, with the range of
# requests per second), the CPU each proxy and the worker spent per request
# (from /proc), and the gateway/nginx ratios computed within each round.
#
# Streams: bench/sse_timing.py sends STREAM_N streamed completions one
# after another on one connection, directly, through nginx and through the
# gateway: "burst" to the benchmark-mode worker (a handful of chunks sent at
# once) and "spaced" to the model worker (STREAM_TOKENS tokens, one chunk
# each, as the model makes them). Time added against the direct path, at
# the first byte, at each event and at the last byte, says what each proxy
# adds to a stream and to its chunks.
#
# wrk, the proxy and the workers share the machine's cores (none is pinned):
# absolute rates depend on what else runs; compare ratios within one run.
# ACCOUNTS=1 gives the gateway an accounts database and wrk an API key
# (keys, rate limits, metering against verified receipts), against the same
# nginx. PERF=1 records a perf profile of the gateway under wrk after each
# pairing's rounds and prints where its CPU goes (PERF_OPTS, default "-F 999
# --call-graph dwarf,8192", are perf record's options). KEEP=1 keeps the
# folder.
#
# Exit status: 0, or 1 when something did not start or a request failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export LC_ALL=C
BUILD="${BUILD:-build}"
PY="${VEIL_PYTHON:-/usr/bin/python3}"
DURATION="${DURATION:-5}"
WARMUP="${WARMUP:-2}"
ROUNDS="${ROUNDS:-3}"
CONNS="${CONNS:-64}"
WRK_THREADS="${WRK_THREADS:-2}"
PAIRINGS="${PAIRINGS:-1 2}"
TARGETS="${TARGETS-direct nginx gateway gateway-conf nginx-stream gateway-stream}"
STREAM_N="${STREAM_N:-200}"
STREAM_TOKENS="${STREAM_TOKENS:-32}"
ACCOUNTS="${ACCOUNTS:-0}"
PERF="${PERF:-0}"
VEIL="$BUILD/veil"
WORKER_BIN="$BUILD/veil-worker"
GW_BIN="$BUILD/veil-gateway"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"

die() {
	echo "bench_gateway: $*" >&2
	exit 1
}
for b in "$VEIL" "$WORKER_BIN" "$GW_BIN"; do
	[ -x "$b" ] || die "$b is missing: make BUILD=$BUILD $b"
done
for c in wrk curl jq; do
	command -v "$c" >/dev/null || die "$c is missing (scripts/setup.sh)"
done
[ -x "$NGINX" ] || die "nginx is missing (scripts/setup.sh installs nginx-light)"
"$PY" -c 'import numpy' 2>/dev/null || die "$PY cannot import numpy (scripts/setup.sh)"
[ "$PERF" = 1 ] && ! command -v perf >/dev/null && die "PERF=1 needs perf"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/veil-bench-gateway.XXXXXX")" || die "mktemp"
: >"$TMP/results.tsv"
: >"$TMP/streams.tsv"
PIDS=()
# Last started first, each gone before the next: the workers leave the
# gateway before it stops.
stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[$i]}" 2>/dev/null
		wait "${PIDS[$i]}" 2>/dev/null
	done
	PIDS=()
}
cleanup() {
	stop_all
	if [ "${KEEP:-0}" = 1 ]; then
		echo "bench_gateway: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # SECONDS COMMAND...
	local t="$1"
	shift
	for _ in $(seq 1 $((t * 20))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
admitted() {
	curl -sf --max-time 5 "$GW/v1/attestation" | jq -e --arg id "$1" 'any(.data[]; .worker == $id)' >/dev/null
}
# CPU time in clock ticks (user + system, all threads) of the processes
# given: the gateway, or nginx's master and its worker processes.
cpu_ticks() {
	local p t=0 f
	for p in "$@"; do
		f="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
		read -r -a f <<<"${f##*) }"
		t=$((t + f[11] + f[12]))
	done
	echo "$t"
}
nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID"); }

# ---- the platform, the models, the policy (once) ----
"$PY" tests/models/gen_gguf.py --out "$TMP/chat.gguf" --arch qwen2 --vocab gpt2 --template chatml \
	--type Q8_0 --seed 4 --ctx 512 || die "generating the model"
# The model worker's model: big enough that tokens come apart in time
# (about 0.15 ms each on one thread), small enough to load at once.
"$PY" tests/models/gen_gguf.py --out "$TMP/gen.gguf" --arch llama --vocab spm --template chatml \
	--type Q8_0 --dim 256 --hidden 768 --layers 4 --heads 8 --kv-heads 4 --ctx 1024 --seed 9 ||
	die "generating the model"
for m in chat gen; do
	"$VEIL" seal --in "$TMP/$m.gguf" --out "$TMP/$m.sealed" --key-out "$TMP/$m.key" \
		--resource "default/model/$m" >/dev/null || die "veil seal"
done
"$VEIL" sim init --gpus 1 "$TMP/sim" >/dev/null || die "veil sim init"
printf 'veil-worker build 1' >"$TMP/wk.bin"
printf '{"model":"chat"}' >"$TMP/wk.json"
M="$("$VEIL" sim measure "$TMP/wk.bin" "$TMP/wk.json")" || die "veil sim measure"
cat >"$TMP/policy.json" <<JSON
{"version": 1, "id": "bench-gateway",
 "sim": {"roots": ["$(cat "$TMP/sim/root.sha256")"], "max_age_seconds": 300,
         "match": {"measurement": "workloads"}},
 "gpu": {"required": true, "min_count": 1}}
JSON
cat >"$TMP/rv.json" <<JSON
{"version": 1, "expires": "2099-01-01T00:00:00Z", "sets": {"workloads": ["$M"]}}
JSON
KEY=""
if [ "$ACCOUNTS" = 1 ]; then
	KEY="$("$VEIL" gateway key create --accounts "$TMP/acct.db" --name bench)" || die "veil gateway key create"
fi

# ---- one pairing: the processes ----
start_pairing() { # P
	local p="$1" dir="$TMP/p$1" ga=()
	mkdir -p "$dir/nginx"
	[ "$ACCOUNTS" = 1 ] && ga=(--accounts "$TMP/acct.db")
	# Re-attestation every 10 minutes: none falls inside the rounds.
	"$GW_BIN" --log "$dir/gw.db" --sth-key "$dir/sth.jwk" --create-sth-key --policy "$TMP/policy.json" \
		--reference-values "$TMP/rv.json" "${ga[@]}" --reattest 600 --threads "$p" \
		--port 0 --port-file "$dir/gw.port" 2>"$dir/gw.log" &
	GW_PID=$!
	PIDS+=("$GW_PID")
	wait_for 10 test -s "$dir/gw.port" || die "the gateway did not start: $(tail -n 3 "$dir/gw.log")"
	GW_PORT="$(cat "$dir/gw.port")"
	GW="http://127.0.0.1:$GW_PORT"
	local sim=(--tee sim --sim "$TMP/sim" --workload "$TMP/wk.bin" --workload "$TMP/wk.json" --gpus sim)
	# The worker logs a line per request (hundreds of MB in a run): its
	# log keeps the others. The filter costs well under 1% of a core.
	mkfifo "$dir/wk.fifo" || die "mkfifo"
	grep -v '"event":"request.done"' <"$dir/wk.fifo" >"$dir/wk.log" &
	PIDS+=($!)
	WK_PORT="$(free_port)"
	# The queue holds every connection wrk can have open.
	"$WORKER_BIN" --port "$WK_PORT" --id wk-bench --key-file "$TMP/chat.key" --model "$TMP/chat.sealed" \
		--model-name chat --parallel 2 --queue 1024 --bench-reply "${sim[@]}" \
		--gateway "$GW" --advertise "http://127.0.0.1:$WK_PORT" \
		2>"$dir/wk.fifo" &
	WK_PID=$!
	PIDS+=("$WK_PID")
	GEN_PORT="$(free_port)"
	"$WORKER_BIN" --port "$GEN_PORT" --id wk-gen --key-file "$TMP/gen.key" --model "$TMP/gen.sealed" \
		--model-name gen --parallel 1 --threads 1 "${sim[@]}" \
		--gateway "$GW" --advertise "http://127.0.0.1:$GEN_PORT" 2>"$dir/gen.log" &
	PIDS+=($!)
	NG_PORT="$(free_port)"
	NG_GEN_PORT="$(free_port)"
	sed -e "s|@WORKERS@|$p|; s|@PREFIX@|$dir/nginx|g; s|@WORKER_PORT@|$WK_PORT|; s|@GEN_PORT@|$GEN_PORT|" \
		-e "s|@PORT@|$NG_PORT|; s|@GEN_LISTEN@|$NG_GEN_PORT|" bench/nginx-gateway.conf.in \
		>"$dir/nginx/nginx.conf"
	local g="daemon off; pid $dir/nginx/nginx.pid;"
	# A master running as root would hand its workers to "nobody".
	[ "$(id -u)" = 0 ] && g="$g user $(id -un) $(id -gn);"
	"$NGINX" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e stderr -g "$g" 2>"$dir/nginx.log" &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	wait_for 30 admitted wk-bench || die "wk-bench was not admitted: $(tail -n 3 "$dir/wk.log" "$dir/gw.log")"
	wait_for 30 admitted wk-gen || die "wk-gen was not admitted: $(tail -n 3 "$dir/gen.log")"
	wait_for 10 curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$NG_PORT/healthz" ||
		die "nginx did not start: $(tail -n 3 "$dir/nginx.log")"
	wait_for 10 curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$NG_GEN_PORT/healthz" ||
		die "nginx did not start (model worker): $(tail -n 3 "$dir/nginx.log")"
}

# ---- throughput ----
# run_wrk P TARGET ROUND: one warm-up and one measured run; appends a row to
# $TMP/results.tsv.
run_wrk() {
	local p="$1" target="$2" round="$3" url proxy_pids=() env=() out line
	case "$target" in
	direct) url="http://127.0.0.1:$WK_PORT" ;;
	nginx | nginx-stream)
		url="http://127.0.0.1:$NG_PORT"
		read -r -a proxy_pids <<<"$(nginx_pids)"
		;;
	gateway | gateway-conf | gateway-stream) url="$GW" proxy_pids=("$GW_PID") ;;
	esac
	case "$target" in *-stream) env+=(VEIL_STREAM=1) ;; esac
	[ "$target" = gateway-conf ] && env+=(VEIL_CONFIDENTIAL=required)
	case "$target" in gateway*) env+=(VEIL_API_KEY="$KEY") ;; esac
	env "${env[@]}" wrk -t "$WRK_THREADS" -c "$CONNS" -d "${WARMUP}s" -s bench/wrk_chat.lua \
		"$url/v1/chat/completions" >/dev/null 2>&1
	local c0 w0 c1 w1
	c0="$(cpu_ticks "${proxy_pids[@]}")"
	w0="$(cpu_ticks "$WK_PID")"
	out="$TMP/p$p/wrk-$target-$round.txt"
	env "${env[@]}" wrk -t "$WRK_THREADS" -c "$CONNS" -d "${DURATION}s" --latency -s bench/wrk_chat.lua \
		"$url/v1/chat/completions" >"$out" 2>&1
	c1="$(cpu_ticks "${proxy_pids[@]}")"
	w1="$(cpu_ticks "$WK_PID")"
	line="$(grep '^VEIL-WRK ' "$out")" || die "wrk printed no summary: $(tail -n 5 "$out")"
	printf '%s\t%s\t%s\t%s\tproxy_ticks=%s worker_ticks=%s\n' "$p" "$target" "$round" "$line" \
		"$((c1 - c0))" "$((w1 - w0))" >>"$TMP/results.tsv"
}

# ---- streams ----
# run_sse P KIND TARGET: STREAM_N streams one after another.
run_sse() {
	local p="$1" kind="$2" target="$3" hp model tokens hdr=()
	if [ "$kind" = burst ]; then
		model=chat tokens=4
		case "$target" in direct) hp="127.0.0.1:$WK_PORT" ;; nginx) hp="127.0.0.1:$NG_PORT" ;; esac
	else
		model=gen tokens="$STREAM_TOKENS"
		case "$target" in direct) hp="127.0.0.1:$GEN_PORT" ;; nginx) hp="127.0.0.1:$NG_GEN_PORT" ;; esac
	fi
	if [ "$target" = gateway ]; then
		hp="127.0.0.1:$GW_PORT"
		hdr=(X-Veil-Confidential:required)
		[ -n "$KEY" ] && hdr+=("Authorization:Bearer $KEY")
	fi
	local line
	line="$("$PY" bench/sse_timing.py "$hp" "$model" "$STREAM_N" "$tokens" "${hdr[@]}" 2>&1)" ||
		die "streams ($kind, $target): $line"
	printf '%s\t%s\t%s\t%s\n' "$p" "$kind" "$target" "$line" >>"$TMP/streams.tsv"
}

# profile_gateway P: perf record of the gateway alone while wrk drives it
# (confidential requests), then where its CPU goes: by library (self time)
# and, from the call stacks, the share of samples under each of a few
# functions of the request path (inclusive, so they overlap).
profile_gateway() {
	local dir="$TMP/p$1" env=(VEIL_CONFIDENTIAL=required VEIL_API_KEY="$KEY")
	env "${env[@]}" wrk -t "$WRK_THREADS" -c "$CONNS" -d "$((DURATION + 2))s" -s bench/wrk_chat.lua \
		"$GW/v1/chat/completions" >/dev/null 2>&1 &
	local wrk_pid=$!
	sleep 1
	# DWARF unwinding: the distribution's libraries have no frame pointers.
	# shellcheck disable=SC2086 # PERF_OPTS is a list of options
	perf record -q ${PERF_OPTS:--F 999 --call-graph dwarf,8192} -p "$GW_PID" -o "$dir/perf.data" \
		-- sleep "$DURATION" >/dev/null 2>&1
	wait "$wrk_pid"
	echo
	echo "perf: veil-gateway --threads $1 under wrk, confidential; by library (self time):"
	perf report -i "$dir/perf.data" --stdio --no-children --sort dso 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -n 8
	perf script -i "$dir/perf.data" -F ip,sym 2>/dev/null >"$dir/perf.txt"
	"$PY" - "$dir/perf.txt" <<'PYEOF'
import sys

stacks, cur = [], []
for ln in open(sys.argv[1]):
    f = ln.split(None, 1)
    if len(f) == 2:
        cur.append(f[1].split(" (inlined)")[0].strip())
    elif cur:
        stacks.append(cur)
        cur = []
if cur:
    stacks.append(cur)
print("under each function (inclusive, of %d samples):" % len(stacks))
for name, what in [
        ("route_openai", "the request: key, header, JSON for the model, pick"),
        ("gw_forward", "the request to the worker"),
        ("reply_whole", "the whole answer back, metering first"),
        ("receipt_meter", "metering: the worker's receipt checked"),
        ("veil_receipt_verify", "  the receipt's JWS verified"),
        ("EVP_DigestVerifyFinal", "    its ECDSA signature"),
        ("veil_jwk_thumbprint", "    the key's thumbprint"),
        ("veil_json_parse_max", "JSON parsing, everywhere"),
        ("veil_sha256", "SHA-256 of request and answer (metering)"),
        ("entry_SYSCALL_64", "system calls (from the kernel's frames)"),
]:
    n = sum(1 for s in stacks if any(f.startswith(name) for f in s))
    print("  %5.1f%%  %-24s %s" % (100.0 * n / max(1, len(stacks)), name, what))
PYEOF
}

echo "bench_gateway: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); wrk -t $WRK_THREADS" \
	"-c $CONNS, ${WARMUP} s warm-up + ${DURATION} s, $ROUNDS rounds; accounts: $ACCOUNTS"
read -r -a targets <<<"$TARGETS"
for p in $PAIRINGS; do
	start_pairing "$p"
	echo "pairing $p: gateway --threads $p, nginx worker_processes $p (config: $TMP/p$p/nginx/nginx.conf)"
	for r in $(seq 1 "$ROUNDS"); do
		n=${#targets[@]}
		for i in $(seq 0 $((n - 1))); do
			run_wrk "$p" "${targets[$(((i + r - 1) % n))]}" "$r"
		done
		for kind in burst spaced; do
			for t in direct nginx gateway; do run_sse "$p" "$kind" "$t"; done
		done
	done
	[ "$PERF" = 1 ] && profile_gateway "$p"
	# (request.failed lines with "started" are streams wrk cut off when
	# it stopped: wrk's own error counts are the check.)
	grep -q 'worker.unhealthy\|worker.removed' "$TMP/p$p/gw.log" &&
		echo "bench_gateway: the gateway lost a worker: $(grep 'worker.unhealthy\|worker.removed' "$TMP/p$p/gw.log")" >&2
	stop_all
done

# ---- the tables ----
"$PY" - "$TMP/results.tsv" "$TMP/streams.tsv" "$(getconf CLK_TCK)" <<'PYEOF'
import statistics as st
import sys

def kv(s):
    return {k: float(v) for k, v in (x.split("=") for x in s.split() if "=" in x)}

rows = {}
for ln in open(sys.argv[1]):
    p, target, rnd, wrk, cpu = ln.rstrip("\n").split("\t")
    d = kv(wrk)
    d.update(kv(cpu))
    rows.setdefault((p, target), {})[int(rnd)] = d
tick_us = 1e6 / float(sys.argv[3])
failed = False
for p in sorted({k[0] for k in rows}):
    print()
    print("pairing %s: gateway --threads %s, nginx worker_processes %s" % (p, p, p))
    print("| path | req/s (median) | req/s range | p50 ms | p99 ms | proxy CPU us/req "
          "| worker CPU us/req | req/s vs nginx | p99 vs nginx |")
    print("|---|---|---|---|---|---|---|---|---|")
    for target in ["direct", "nginx", "gateway", "gateway-conf", "nginx-stream", "gateway-stream"]:
        r = rows.get((p, target))
        if not r:
            continue
        base = rows.get((p, "nginx-stream" if target.endswith("stream") else "nginx"), {})
        med = lambda k: st.median(x[k] for x in r.values())
        ratio = lambda k: [r[i][k] / base[i][k] for i in r if i in base and base[i][k] > 0]
        cpu = lambda k: st.median(x[k] * tick_us / x["requests"] for x in r.values())
        rr, pr = ratio("rps"), ratio("p99_us")
        bad = sum(x["non2xx"] + x["errors"] for x in r.values())
        failed |= bad > 0
        print("| %s%s | %.0f | %.0f-%.0f | %.2f | %.2f | %s | %.1f | %s | %s |" % (
            target, " (%d failed)" % bad if bad else "", med("rps"),
            min(x["rps"] for x in r.values()), max(x["rps"] for x in r.values()),
            med("p50_us") / 1e3, med("p99_us") / 1e3,
            "-" if target == "direct" else "%.1f" % cpu("proxy_ticks"), cpu("worker_ticks"),
            "%.3f (%.3f-%.3f)" % (st.median(rr), min(rr), max(rr)) if rr and "nginx" not in target else "",
            "%.3f (%.3f-%.3f)" % (st.median(pr), min(pr), max(pr)) if pr and "nginx" not in target else ""))

srows = {}
for ln in open(sys.argv[2]):
    p, kind, target, line = ln.rstrip("\n").split("\t")
    ev = line.split("events_ms=")[1].split()[0]
    d = kv(line.replace("events_ms=" + ev, ""))
    d["events_ms"] = [float(x) for x in ev.split(",")]
    srows.setdefault((p, kind, target), []).append(d)
for p in sorted({k[0] for k in srows}):
    print()
    print("pairing %s, streams one at a time (ms from sending; medians over the rounds)" % p)
    print("| stream | path | first byte p50 | last byte p50 | p99 | reads | events "
          "| added to the first byte | added to each event (median) | added to the last byte |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind in ["burst", "spaced"]:
        d = srows.get((p, kind, "direct"))
        for target in ["direct", "nginx", "gateway"]:
            s = srows.get((p, kind, target))
            if not s:
                continue
            m = lambda k, rows=s: st.median(x[k] for x in rows)
            # Event by event against the direct stream (each event's
            # median arrival, then the median over the rounds).
            n = min(len(x["events_ms"]) for x in s + d)
            ev = lambda rows, i: st.median(x["events_ms"][i] for x in rows)
            added = [ev(s, i) - ev(d, i) for i in range(n)]
            add = lambda v: "" if target == "direct" else "%+.3f" % v
            print("| %s | %s | %.3f | %.3f | %.3f | %.0f | %.0f | %s | %s | %s |" % (
                kind, target, m("ttfb_p50_ms"), m("last_p50_ms"), m("last_p99_ms"),
                m("reads_p50"), m("events"), add(m("ttfb_p50_ms") - m("ttfb_p50_ms", d)),
                add(st.median(added)), add(m("last_p50_ms") - m("last_p50_ms", d))))
sys.exit(1 if failed else 0)
PYEOF
