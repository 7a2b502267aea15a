# The whole system on loopback, for the demo (scripts/demo.sh), the
# end-to-end tests (tests/cli/client.sh, proxy.sh, audit.sh) and the
# benchmarks: a simulated TEE platform, a generated model sealed to a key
# that veil-kbs releases only to the expected workload, veil-gateway, and
# veil-workers that fetch the key and join the gateway by themselves.
# Sourced after tests/cli/lib/expect.bash (it uses $TMP, $VEIL and $BUILD);
# every daemon listens on an ephemeral port, and every one is stopped at
# finish (on_finish) and when the script exits or is interrupted.
#
# The functions print what went wrong on stderr and return 1; counting it
# (bad, finish) is the caller's business. Files go to $DEPLOY ($TMP/deploy).
#
#   deploy_model [NAME]       a generated GGUF model NAME (default chat),
#                             sealed with a fresh key; a sim platform with one
#                             GPU; the worker's workload (two files) and its
#                             measurement; the admission policy and reference
#                             values that expect that measurement. Sets MODEL,
#                             MODEL_GGUF, MODEL_SEALED, MODEL_KEY (the key
#                             file), MODEL_SHA (sha256 hex of the plaintext),
#                             SIM (platform folder), SIM_ROOT (its root's
#                             fingerprint), WK_BIN, WK_JSON, MEASUREMENT,
#                             POLICY (appraisal policy file), REFVALS.
#   deploy_sim DIR [JQ]       another sim platform in DIR: a copy of $SIM (same
#                             root, same keys) whose platform.json JQ changes,
#                             e.g. '.debug = true'
#   deploy_kbs                veil-kbs with $POLICY and $REFVALS, a resource
#                             policy releasing default/model/* only to affirming
#                             sim evidence, and the model key put through its
#                             admin API. Sets KBS (URL), KBS_PID, KBS_ADMIN
#                             (admin key file).
#   deploy_gateway [ARGS]     veil-gateway (--sth-key, --create-sth-key,
#                             --reattest 5, --health 2, $GW_POLICY or $POLICY,
#                             $REFVALS, accounts unless DEPLOY_ACCOUNTS=0),
#                             ARGS appended. Sets GW (URL), GW_PID, GW_LOG,
#                             STH_KEY (the tree-head key file, private) and,
#                             with accounts, API_KEY (exported as VEIL_API_KEY
#                             too). A second call starts a second gateway and
#                             moves GW to it; GW_NAME (default gw, then gw2...)
#                             names its files. API_KEY belongs to the gateway
#                             that made it: a second gateway with accounts
#                             replaces it (DEPLOY_ACCOUNTS=0 keeps the first).
#   deploy_worker NAME ID [ARGS]   a veil-worker with id ID on a free port
#                             (NAME: letters, digits and _, it names variables),
#                             serving $MODEL_SEALED as $MODEL on $SIM with the
#                             workload $WK_BIN $WK_JSON, its key from $KBS, a
#                             fresh --ohttp-key-id, joining $GW (advertising
#                             its URL); ARGS appended. Any of SIM, WK_BIN,
#                             WK_JSON, KBS, GW, MODEL_SEALED may be overridden
#                             for one call (WK_BIN=other.bin deploy_worker ...);
#                             KBS= takes the key from $MODEL_KEY instead,
#                             GW= joins no gateway. Sets WPID_NAME, WURL_NAME;
#                             its log is $DEPLOY/NAME.log.
#   deploy_worker_wait NAME [SECONDS]  until the worker serves (0), or exited
#                             (1, its exit status in WRC_NAME) or never did.
#   deploy_stop_worker NAME   SIGTERM (the worker leaves the gateway), wait.
#   deploy_admitted ID        whether $GW lists worker ID as admitted
#   deploy_wait_admitted N [SECONDS]   until $GW lists at least N admitted
#                             workers (default 60 s); 1 if it never did
#   deploy_client_policy FILE [JQ]   the client policy for this deployment
#                             (docs/client.md): $SIM_ROOT, $MEASUREMENT,
#                             {$MODEL: [$MODEL_SHA]} and the public half of
#                             $STH_KEY as log_key, then changed by JQ when
#                             given (a refusal case: '.models.chat = ["00.."]');
#                             the log key is that of the last gateway started
#   deploy_track PID          stop PID too at the end (a proxy, a relay)
#   deploy_stop               stops everything started here: SIGTERM, up to
#                             10 s, then SIGKILL; reaps each one
#   deploy_free_port          prints a free loopback port
#   _deploy_alive PID         whether PID runs (not gone, not a zombie)
#   deploy_wait_file FILE PID SECONDS   until FILE is not empty (a port file);
#                             1 if PID exited first or the time ran out
#   on_finish                 deploy_stop (redefine it to do more, calling
#                             deploy_stop)
# The EXIT trap (replacing expect.bash's) runs deploy_stop and removes $TMP;
# SIGINT and SIGTERM exit through it. A script that sets its own EXIT trap
# must call deploy_stop in it.

PY="${VEIL_PYTHON:-/usr/bin/python3}"
DEPLOY="$TMP/deploy"
DEPLOY_PIDS=()
DEPLOY_KEY_ID=0
GW=""
KBS=""

deploy_free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
_deploy_curl() { command curl --max-time 10 "$@"; }
_deploy_fail() {
	echo "deploy: $*" >&2
	return 1
}
deploy_wait_file() {
	local i
	for i in $(seq 1 $(($3 * 20))); do
		[ -s "$1" ] && return 0
		_deploy_alive "$2" || return 1
		sleep 0.05
	done
	[ -s "$1" ]
}

# The name it had at first, which some scripts use.
_deploy_wait_file() { deploy_wait_file "$@"; }

deploy_track() { DEPLOY_PIDS+=("$1"); }

# A process is gone when it has no entry, or only a zombie's (a child not
# yet reaped: kill -0 still succeeds on it).
_deploy_alive() {
	local st
	st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
	[ -n "$st" ] && [ "${st:0:1}" != Z ]
}

deploy_stop() {
	local p i
	# All at once: a worker whose leave finds the gateway gone is refused the
	# connection at once, and stops anyway (docs/worker.md, step 4).
	for p in "${DEPLOY_PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
	for i in $(seq 1 200); do
		local left=0
		for p in "${DEPLOY_PIDS[@]:-}"; do [ -n "$p" ] && _deploy_alive "$p" && left=1; done
		[ "$left" = 0 ] && break
		sleep 0.05
	done
	for p in "${DEPLOY_PIDS[@]:-}"; do
		[ -n "$p" ] || continue
		_deploy_alive "$p" && { echo "deploy: $p did not stop at SIGTERM; killed" >&2; kill -KILL "$p" 2>/dev/null; }
		wait "$p" 2>/dev/null
	done
	DEPLOY_PIDS=()
}
on_finish() { deploy_stop; }
trap 'deploy_stop; rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deploy_model() {
	MODEL="${1:-chat}"
	mkdir -p "$DEPLOY" || return 1
	MODEL_GGUF="$DEPLOY/$MODEL.gguf"
	MODEL_SEALED="$DEPLOY/$MODEL.sealed"
	MODEL_KEY="$DEPLOY/$MODEL.key"
	"$PY" tests/models/gen_gguf.py --out "$MODEL_GGUF" --arch qwen2 --vocab gpt2 --template chatml \
		--type Q8_0 --seed 4 --ctx 512 >"$DEPLOY/gen.log" 2>&1 ||
		{ cat "$DEPLOY/gen.log" >&2; _deploy_fail "generating the model ($PY needs numpy)"; return 1; }
	"$VEIL" seal --in "$MODEL_GGUF" --out "$MODEL_SEALED" --key-out "$MODEL_KEY" \
		--resource "default/model/$MODEL" >"$DEPLOY/seal.log" 2>&1 ||
		{ cat "$DEPLOY/seal.log" >&2; _deploy_fail "veil seal"; return 1; }
	MODEL_SHA="$(sha256sum "$MODEL_GGUF" | cut -d' ' -f1)"
	SIM="$DEPLOY/sim"
	"$VEIL" sim init --gpus 1 "$SIM" >/dev/null 2>"$DEPLOY/sim.log" ||
		{ cat "$DEPLOY/sim.log" >&2; _deploy_fail "veil sim init"; return 1; }
	SIM_ROOT="$(cat "$SIM/root.sha256")"
	# The workload the sim platform measures: the worker "binary" and its
	# configuration (docs/evidence-sim.md, "Workload measurement").
	WK_BIN="$DEPLOY/wk.bin"
	WK_JSON="$DEPLOY/wk.json"
	printf 'veil-worker build 1' >"$WK_BIN"
	printf '{"model":"%s"}' "$MODEL" >"$WK_JSON"
	MEASUREMENT="$("$VEIL" sim measure "$WK_BIN" "$WK_JSON")" || { _deploy_fail "veil sim measure"; return 1; }
	POLICY="$DEPLOY/policy.json"
	REFVALS="$DEPLOY/rv.json"
	jq -n --arg root "$SIM_ROOT" '{version: 1, id: "deploy",
		sim: {roots: [$root], max_age_seconds: 300, match: {measurement: "workloads"}},
		gpu: {required: true, min_count: 1}}' >"$POLICY" || return 1
	jq -n --arg m "$MEASUREMENT" '{version: 1, expires: "2099-01-01T00:00:00Z",
		sets: {workloads: [$m]}}' >"$REFVALS" || return 1
}

deploy_sim() {
	local dir="$1" filter="${2:-.}"
	cp -r "$SIM" "$dir" || return 1
	jq "$filter" "$SIM/platform.json" >"$dir/platform.json" || _deploy_fail "deploy_sim: jq $filter"
}

deploy_kbs() {
	mkdir -p "$DEPLOY" || return 1
	KBS_ADMIN="$DEPLOY/admin.jwk"
	"$VEIL" kbs keys --out "$DEPLOY/admin" >/dev/null 2>&1 || { _deploy_fail "veil kbs keys"; return 1; }
	jq -n '{version: 1, rules: [{resources: "default/model/*", status: ["affirming"], tee: ["sim"],
		allow_insecure: true}]}' >"$DEPLOY/resource-policy.json"
	rm -f "$DEPLOY/kbs.port"
	"${BUILD:-build}/veil-kbs" --db "$DEPLOY/kbs.db" --master-key "$DEPLOY/kbs.master" \
		--create-master-key --port 0 --port-file "$DEPLOY/kbs.port" --policy "$POLICY" \
		--reference-values "$REFVALS" --resource-policy "$DEPLOY/resource-policy.json" \
		--admin-key "$DEPLOY/admin.pub.jwk" 2>"$DEPLOY/kbs.log" &
	KBS_PID=$!
	deploy_track "$KBS_PID"
	deploy_wait_file "$DEPLOY/kbs.port" "$KBS_PID" 10 ||
		{ tail -5 "$DEPLOY/kbs.log" >&2; _deploy_fail "veil-kbs did not start"; return 1; }
	KBS="http://127.0.0.1:$(cat "$DEPLOY/kbs.port")"
	"$VEIL" kbs put-resource --url "$KBS" --admin-key "$KBS_ADMIN" "default/model/$MODEL" "$MODEL_KEY" \
		>/dev/null 2>"$DEPLOY/put.log" || { cat "$DEPLOY/put.log" >&2; _deploy_fail "putting the model key"; return 1; }
}

DEPLOY_GW_COUNT=0
deploy_gateway() {
	mkdir -p "$DEPLOY" || return 1
	DEPLOY_GW_COUNT=$((DEPLOY_GW_COUNT + 1))
	local name="${GW_NAME:-gw}"
	[ "$DEPLOY_GW_COUNT" -gt 1 ] && [ -z "${GW_NAME:-}" ] && name="gw$DEPLOY_GW_COUNT"
	local acct=()
	if [ "${DEPLOY_ACCOUNTS:-1}" = 1 ]; then
		acct=(--accounts "$DEPLOY/$name.accounts.db")
		API_KEY="$("$VEIL" gateway key create --accounts "$DEPLOY/$name.accounts.db" --name demo 2>/dev/null)" ||
			{ _deploy_fail "veil gateway key create"; return 1; }
		export VEIL_API_KEY="$API_KEY"
	fi
	STH_KEY="$DEPLOY/$name.sth.jwk"
	GW_LOG="$DEPLOY/$name.log"
	rm -f "$DEPLOY/$name.port"
	"${BUILD:-build}/veil-gateway" --log "$DEPLOY/$name.db" --sth-key "$STH_KEY" --create-sth-key \
		--policy "${GW_POLICY:-$POLICY}" --reference-values "$REFVALS" "${acct[@]}" \
		--reattest 5 --health 2 --port 0 --port-file "$DEPLOY/$name.port" "$@" 2>"$GW_LOG" &
	GW_PID=$!
	deploy_track "$GW_PID"
	deploy_wait_file "$DEPLOY/$name.port" "$GW_PID" 10 ||
		{ tail -5 "$GW_LOG" >&2; _deploy_fail "veil-gateway did not start"; return 1; }
	GW="http://127.0.0.1:$(cat "$DEPLOY/$name.port")"
}

deploy_worker() {
	local name="$1" id="$2"
	shift 2
	mkdir -p "$DEPLOY" || return 1
	local port key join=()
	port="$(deploy_free_port)" || return 1
	DEPLOY_KEY_ID=$((DEPLOY_KEY_ID + 1))
	if [ -n "$KBS" ]; then key=(--kbs "$KBS"); else key=(--key-file "$MODEL_KEY"); fi
	[ -n "$GW" ] && join=(--gateway "$GW" --advertise "http://127.0.0.1:$port")
	"${BUILD:-build}/veil-worker" --model "$MODEL_SEALED" --model-name "$MODEL" "${key[@]}" \
		--tee sim --sim "$SIM" --workload "$WK_BIN" --workload "$WK_JSON" --gpus sim --id "$id" \
		--ohttp-key-id "$DEPLOY_KEY_ID" --parallel 2 --port "$port" "${join[@]}" "$@" \
		2>"$DEPLOY/$name.log" &
	local pid=$!
	deploy_track "$pid"
	printf -v "WPID_$name" '%s' "$pid"
	printf -v "WURL_$name" '%s' "http://127.0.0.1:$port"
}

deploy_worker_wait() {
	local name="$1" t="${2:-60}" pid url i
	pid="$(eval echo "\${WPID_$name:-}")"
	url="$(eval echo "\${WURL_$name:-}")"
	[ -n "$pid" ] || { _deploy_fail "no worker $name"; return 1; }
	for i in $(seq 1 $((t * 20))); do
		_deploy_curl -sf -o /dev/null "$url/healthz" 2>/dev/null && return 0
		if ! _deploy_alive "$pid"; then
			wait "$pid" 2>/dev/null
			printf -v "WRC_$name" '%s' "$?"
			return 1
		fi
		sleep 0.05
	done
	return 1
}

deploy_stop_worker() {
	local pid i
	pid="$(eval echo "\${WPID_$1:-}")"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 200); do
		_deploy_alive "$pid" || break
		sleep 0.05
	done
	_deploy_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

deploy_admitted() {
	_deploy_curl -sf "$GW/v1/attestation" 2>/dev/null |
		jq -e --arg id "$1" 'any(.data[]; .worker == $id)' >/dev/null 2>&1
}

deploy_wait_admitted() {
	local n="$1" t="${2:-60}" i
	for i in $(seq 1 $((t * 10))); do
		_deploy_curl -sf "$GW/v1/attestation" 2>/dev/null |
			jq -e --argjson n "$n" '.data | length >= $n' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

deploy_client_policy() {
	local out="$1" filter="${2:-.}"
	[ -s "$STH_KEY" ] || { _deploy_fail "no gateway tree-head key yet ($STH_KEY)"; return 1; }
	jq -n --arg root "$SIM_ROOT" --arg m "$MEASUREMENT" --arg model "$MODEL" --arg sha "$MODEL_SHA" \
		--slurpfile sth "$STH_KEY" '{version: 1,
		appraisal: {version: 1, id: "client",
			sim: {roots: [$root], max_age_seconds: 300, match: {measurement: "workloads"}},
			gpu: {required: true, min_count: 1}},
		reference_values: {version: 1, expires: "2099-01-01T00:00:00Z", sets: {workloads: [$m]}},
		models: {($model): [$sha]},
		log_key: ($sth[0] | del(.d))} | '"$filter" >"$out" ||
		_deploy_fail "deploy_client_policy: jq $filter"
}
