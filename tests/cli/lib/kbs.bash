# Shared by the tests/cli/kbs_*.sh scripts (sourced after expect.bash):
# real veil-kbs daemons on ephemeral loopback ports, stopped by finish.
#
#   start NAME ARGS...        a broker with store $TMP/NAME.db (master key
#                             $TMP/NAME.key, made at first start) holding
#                             default/model/key = $TMP/secret when that file
#                             exists; sets URL_NAME; stops the script if
#                             the broker does not come up
#   kbs_auth URL TEE JAR      POST /kbs/v0/auth; prints the nonce
#   kbs_attest URL JAR BODY OUT   POST /kbs/v0/attest with BODY (a file);
#                             prints the HTTP status, the reply goes to OUT

KBS_BIN="${BUILD:-build}/veil-kbs"
PIDS=()
on_finish() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
}

start() {
	local name="$1"
	shift
	local db="$TMP/$name.db" key="$TMP/$name.key"
	if [ -f "$TMP/secret" ]; then
		"$KBS_BIN" put-resource --db "$db" --master-key "$key" default/model/key "$TMP/secret" \
			2>/dev/null || true
	fi
	"$KBS_BIN" --db "$db" --master-key "$key" --create-master-key --port 0 \
		--port-file "$TMP/$name.port" "$@" 2>"$TMP/$name.log" &
	PIDS+=($!)
	for _ in $(seq 1 100); do
		[ -s "$TMP/$name.port" ] && break
		sleep 0.05
	done
	if [ ! -s "$TMP/$name.port" ]; then
		bad "$name broker did not start"
		sed 's/^/    /' "$TMP/$name.log" | head -5
		finish
	fi
	eval "URL_$name=http://127.0.0.1:$(cat "$TMP/$name.port")"
	ok
}

kbs_auth() {
	curl -s -c "$3" -H 'content-type: application/json' \
		--data "{\"version\":\"0.4.0\",\"tee\":\"$2\",\"extra-params\":\"\"}" "$1/kbs/v0/auth" |
		jq -r .nonce
}

kbs_attest() {
	curl -s -b "$2" -o "$4" -w '%{http_code}' -H 'content-type: application/json' \
		--data @"$3" "$1/kbs/v0/attest"
}
