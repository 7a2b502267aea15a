#!/usr/bin/env bash
# veil gateway key create|list|revoke and veil gateway usage
# (docs/gateway-accounts.md) on their own, without a gateway: the key is
# the only line on stdout and appears nowhere in the database, the file is
# 0600, exit codes as docs/cli.md says (0 done, 1 refused, 2 usage or an
# unreadable database), and several processes creating keys in one new
# file at once all succeed (the schema is made once, WAL lets them share).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
export LC_ALL=C

PY="${VEIL_PYTHON:-/usr/bin/python3}"

# sql FILE QUERY: runs QUERY on the database with Python's sqlite3 (the
# sqlite3 shell is not among the packages scripts/setup.sh installs);
# prints each row's columns joined by '|'.
sql() {
	"$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=5)
for row in db.execute(sys.argv[2]):
    print("|".join(str(c) for c in row))
db.commit()' "$1" "$2"
}

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

[ -x "$VEIL" ] || { bad "$VEIL is missing: make check-tests"; finish; }
DB="$TMP/accounts.db"

# ---- create ----
check "create" 0 "$VEIL" gateway key create --accounts "$DB" --name alice --rpm 60 --tpm 6000
KEY="$(cat "$TMP/out")"
[ "$(wc -l <"$TMP/out")" -eq 1 ] && grep -qxE 'vk_[A-Za-z0-9_-]{43}' "$TMP/out" && ok ||
	bad "create prints the key and nothing else on stdout: '$(head -c 200 "$TMP/out")'"
[ ! -s "$TMP/err" ] && ok || bad "create is quiet on stderr off a terminal"
[ "$(stat -c %a "$DB")" = 600 ] && ok || bad "the database is 0600 ($(stat -c %a "$DB"))"
check "a second account" 0 "$VEIL" gateway key create --accounts "$DB" --name bob
KEY2="$(cat "$TMP/out")"
[ -n "$KEY2" ] && [ "$KEY2" != "$KEY" ] && ok || bad "two accounts, two keys"
check "a name in use" 1 "$VEIL" gateway key create --accounts "$DB" --name alice
grep -q "exists already" "$TMP/err" && ok || bad "a name in use: says so"
[ ! -s "$TMP/out" ] && ok || bad "a refused create prints no key"
for name in "" "a b" "a/b" "$(printf 'n%.0s' $(seq 1 65))" "café"; do
	check "bad name '$name'" 2 "$VEIL" gateway key create --accounts "$DB" --name "$name"
done
check "64-character name" 0 "$VEIL" gateway key create --accounts "$DB" \
	--name "$(printf 'n%.0s' $(seq 1 64))"
for v in -1 4294967296 1.5 abc "" 0x10 " 5"; do
	check "--rpm '$v'" 2 "$VEIL" gateway key create --accounts "$DB" --name x --rpm "$v"
done
check "--tpm 4294967295" 0 "$VEIL" gateway key create --accounts "$DB" --name big --tpm 4294967295
check "no --name" 2 "$VEIL" gateway key create --accounts "$DB"
check "no --accounts" 2 "$VEIL" gateway key create --name y
check "an option create does not take" 2 "$VEIL" gateway key create --accounts "$DB" --name y --json
check "an unknown option" 2 "$VEIL" gateway key create --accounts "$DB" --name y --color
check "an extra argument" 2 "$VEIL" gateway key create --accounts "$DB" --name y extra
check "a folder that does not exist" 2 "$VEIL" gateway key create --accounts "$TMP/no/a.db" --name y

# ---- the key is nowhere in the file ----
for f in "$DB" "$DB-wal"; do
	[ -e "$f" ] || continue
	grep -qaF "$KEY" "$f" && bad "the key is in $(basename "$f")" || ok
	grep -qaF "${KEY:3:20}" "$f" && bad "part of the key is in $(basename "$f")" || ok
done
HASH="$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)"
[ "$(sql "$DB" "SELECT hex(key_hash) FROM gw_accounts WHERE name = 'alice'" | tr A-F a-f)" = \
	"$HASH" ] && ok || bad "the stored hash is SHA-256 of the key"

# ---- list ----
check "list" 0 "$VEIL" gateway key list --accounts "$DB"
grep -q '^NAME' "$TMP/out" && grep -q '^alice .* 60 .* 6000 ' "$TMP/out" &&
	grep -q '^bob .*unlimited' "$TMP/out" && ok || bad "list: a table of the accounts"
grep -qF "$KEY" "$TMP/out" && bad "list shows a key" || ok
expect_run "list --json" 0 'length == 4 and .[0].name == "alice" and .[0].rpm == 60 and
	.[0].tpm == 6000 and .[0].revoked == null and (.[0].created | test("Z$")) and
	all(.[]; keys == ["created", "name", "revoked", "rpm", "tpm"])' -- \
	gateway key list --accounts "$DB" --json
check "list takes no --name" 2 "$VEIL" gateway key list --accounts "$DB" --name alice
# Only create makes a file: a mistyped path is an error, and stays absent.
check "list of a missing file" 2 "$VEIL" gateway key list --accounts "$TMP/typo.db"
[ ! -e "$TMP/typo.db" ] && ok || bad "list made a database"
head -c 8192 /dev/urandom >"$TMP/junk.db"
check "list of a file that is not a database" 2 "$VEIL" gateway key list --accounts "$TMP/junk.db"

# ---- revoke ----
check "revoke" 0 "$VEIL" gateway key revoke --accounts "$DB" --name bob
check "revoke again" 0 "$VEIL" gateway key revoke --accounts "$DB" --name bob
check "revoke an unknown name" 1 "$VEIL" gateway key revoke --accounts "$DB" --name nobody
grep -q "no account named nobody" "$TMP/err" && ok || bad "revoke unknown: says so"
check "revoke a bad name" 2 "$VEIL" gateway key revoke --accounts "$DB" --name "a b"
check "revoke without --name" 2 "$VEIL" gateway key revoke --accounts "$DB"
expect_run "list shows the revocation" 0 '(map(select(.name == "bob"))[0].revoked | test("Z$")) and
	map(select(.name == "alice"))[0].revoked == null' -- gateway key list --accounts "$DB" --json
check "a revoked name is not reused" 1 "$VEIL" gateway key create --accounts "$DB" --name bob

# ---- usage ----
expect_run "usage" 0 '.object == "usage" and .account == "alice" and .data == []' -- \
	gateway usage --accounts "$DB" --name alice
# Rows as the gateway's flush writes them.
sql "$DB" "INSERT INTO gw_usage VALUES ((SELECT id FROM gw_accounts WHERE name = 'bob'),
	'2025-03-02', 'm1', 'confidential', 3, 3, 30, 60, 3, 0),
	((SELECT id FROM gw_accounts WHERE name = 'bob'), '2025-03-01', 'm1', 'plain', 2, 1, 5, 7,
	0, 0)"
expect_run "usage of a revoked account, sorted by day" 0 '.account == "bob" and
	(.data | length) == 2 and .data[0].day == "2025-03-01" and .data[0].total_tokens == 12 and
	.data[1].tier == "confidential" and .data[1].receipts == 3 and .data[1].total_tokens == 90' -- \
	gateway usage --accounts "$DB" --name bob
check "usage of an unknown name" 1 "$VEIL" gateway usage --accounts "$DB" --name nobody
check "usage without --name" 2 "$VEIL" gateway usage --accounts "$DB"

# ---- help and usage errors ----
for sub in "key create" "key list" "key revoke" "usage"; do
	# shellcheck disable=SC2086
	check "$sub --help" 0 "$VEIL" gateway $sub --help
	grep -q "usage: veil gateway $sub" "$TMP/out" && ok || bad "$sub --help: its usage on stdout"
done
check "gateway --help" 0 "$VEIL" gateway --help
check "gateway alone" 2 "$VEIL" gateway
check "gateway key alone" 2 "$VEIL" gateway key
check "an unknown subcommand" 2 "$VEIL" gateway keys
check "an unknown key subcommand" 2 "$VEIL" gateway key delete --accounts "$DB" --name alice

# ---- several processes on one new file ----
NEW="$TMP/new.db"
for i in 1 2 3 4 5 6; do
	"$VEIL" gateway key create --accounts "$NEW" --name "p$i" >"$TMP/p$i.key" 2>"$TMP/p$i.err" &
done
fails=0
for _ in 1 2 3 4 5 6; do wait -n || fails=$((fails + 1)); done
[ "$fails" -eq 0 ] && ok || { bad "$fails of 6 concurrent creates failed"; cat "$TMP"/p*.err | head -5; }
[ "$(cat "$TMP"/p*.key | sort -u | grep -cE '^vk_.{43}$')" -eq 6 ] && ok ||
	bad "6 concurrent creates, 6 distinct keys"
expect_run "all six listed" 0 'length == 6' -- gateway key list --accounts "$NEW" --json

finish
