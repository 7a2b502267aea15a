# Shared by the tests/cli/*.sh scripts that run a Node.js program from
# tests/interop (sourced after expect.bash, whose TMP, counters, ok, bad and
# finish it uses). The programs print "ok NAME" or "FAIL NAME: why" for each
# check; these functions get node and the pinned npm packages ready, run a
# program and count its lines into the script's own pass and fail.
#
#   node_require WHAT         node 20+ and npm, or the test fails
#   npm_packages_ready        tests/interop/node_modules as the lock file says
#   run_node_checks SCRIPT ARGS...
#   count_node_checks OUT [FAIL-PREFIX]
#   run_peer_interop NAME WHAT  all of tests/cli/NAME_interop.sh

NODE_DIR=tests/interop

# node_require WHAT: without node or npm the test fails and stops (CI has
# both, so it never skips); WHAT names what needs them. Returns 1, counting a
# failure, if node is older than the 20 that package.json's engines asks for.
node_require() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		bad "node and npm are needed for $1 (Node.js 20 or later)"
		finish
	fi
	local major
	major="$(node -p 'process.versions.node.split(".")[0]')"
	[ "$major" -ge 20 ] 2>/dev/null && return 0
	bad "node $(node --version) is too old; the tests need Node.js 20 or later"
	return 1
}

# npm_packages_ready: the pinned packages. npm ci installs exactly the lock
# file, and writes node_modules/.package-lock.json, which then is newer than
# the lock file; so it runs only when that is missing or older. Returns 1,
# counting a failure and showing npm's last lines, if npm ci fails.
npm_packages_ready() {
	local stamp="$NODE_DIR/node_modules/.package-lock.json"
	if [ -f "$stamp" ] && [ ! "$NODE_DIR/package-lock.json" -nt "$stamp" ]; then
		return 0
	fi
	(cd "$NODE_DIR" && npm ci --no-audit --no-fund) >"$TMP/npm.log" 2>&1 && return 0
	bad "npm ci in $NODE_DIR failed"
	sed 's/^/    /' "$TMP/npm.log" | tail -n 15
	return 1
}

# count_node_checks OUT [FAIL-PREFIX]: each "ok" line of OUT counts a pass,
# each "FAIL" line a failure; FAIL lines are printed after FAIL-PREFIX (which
# tells two runs of one program apart), and so are ok lines unless
# NODE_CHECKS_QUIET=1. The "#" summary is dropped; any other line (a stack
# trace, a warning) is printed indented.
count_node_checks() {
	local line
	while IFS= read -r line; do
		case "$line" in
		"ok "*)
			[ "${NODE_CHECKS_QUIET:-0}" = 1 ] || echo "$line"
			ok
			;;
		"FAIL "*)
			echo "${2:-}$line"
			fail=$((fail + 1))
			;;
		"# "*) ;;
		*) echo "    $line" ;;
		esac
	done <"$1"
}

# run_node_checks SCRIPT ARGS...: node SCRIPT ARGS, in the environment the
# caller gives it, with its output counted as above. A nonzero exit with no
# FAIL line (a crash before any check could report it) is a failure too.
run_node_checks() {
	local name out rc
	name="$(basename "$1")"
	out="$TMP/${name%.mjs}.out"
	node "$@" >"$out" 2>&1
	rc=$?
	count_node_checks "$out"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
		bad "$name exited $rc without reporting a failure"
	fi
}

# run_peer_interop NAME WHAT: the whole of an interop script, for WHAT (the
# "... interop tests"): node and the packages ready, and
# $BUILD/tests/interop/NAME_peer built, then tests/interop/NAME_interop.mjs
# run against that peer; finishes the script.
run_peer_interop() {
	local peer="${BUILD:-build}/tests/interop/$1_peer"

	node_require "$2" && ok
	[ -x "$peer" ] && ok || { bad "$peer is missing: build it with make BUILD=${BUILD:-build} check-tests"; finish; }
	npm_packages_ready && ok || finish
	run_node_checks "$NODE_DIR/$1_interop.mjs" "$peer"
	finish
}
