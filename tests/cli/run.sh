#!/usr/bin/env bash
# veil run on tiny generated models (docs/engine.md): greedy output is
# the same on one and two threads and from the sealed copy of the model
# opened with its key; a seed repeats a sampled run; --max-tokens, --stop
# and --chat work; a sealed model without its key, with a wrong key, a
# model of another architecture, a file that is no model, and bad options
# are refused with the documented exit codes and a message that says why.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
export LC_ALL=C
PY="${VEIL_PYTHON:-/usr/bin/python3}"

# check NAME WANT-EXIT command...: exit code; stdout in $TMP/out, stderr in $TMP/err.
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

if ! "$PY" -c 'import numpy' 2>/dev/null; then
	bad "$PY cannot import numpy: install python3-numpy (scripts/setup.sh) or set VEIL_PYTHON"
	finish
fi
cat >"$TMP/specs" <<'EOF'
spm --type Q8_0 --heads 4 --kv-heads 2 --seed 3
chat --arch qwen2 --vocab gpt2 --template chatml --type F16 --seed 4
other --arch-name falcon --seed 5
EOF
"$PY" tests/models/gen_gguf.py --batch "$TMP/specs" --dir "$TMP" || {
	bad "generating the test models"
	finish
}
M="$TMP/spm.gguf"

check "greedy, 2 threads" 0 "$VEIL" run "$M" --prompt "the quick brown fox" --temperature 0 \
	--max-tokens 24 --threads 2
cp "$TMP/out" "$TMP/greedy"
[ -s "$TMP/greedy" ] && ok || bad "greedy run printed nothing"
grep -q "24 generated" "$TMP/err" && grep -q "stopped: length" "$TMP/err" && ok ||
	bad "summary on stderr: $(cat "$TMP/err")"
check "greedy, 1 thread" 0 "$VEIL" run "$M" --prompt "the quick brown fox" --temperature 0 \
	--max-tokens 24 --threads 1
cmp -s "$TMP/out" "$TMP/greedy" && ok || bad "1 and 2 threads differ"
iconv -f UTF-8 -t UTF-8 "$TMP/greedy" >/dev/null 2>&1 && ok || bad "output is not valid UTF-8"

check "seeded" 0 "$VEIL" run "$M" --prompt "hello" --seed 7 --temperature 1.2 --max-tokens 16
cp "$TMP/out" "$TMP/seeded"
grep -q "seed 7," "$TMP/err" && ok || bad "the summary names the seed"
check "seeded again" 0 "$VEIL" run "$M" --prompt "hello" --seed 7 --temperature 1.2 --max-tokens 16
cmp -s "$TMP/out" "$TMP/seeded" && ok || bad "the same seed gave different text"

# Greedy, so no stop token can come first (the greedy run above went 24
# tokens to its length); sampling may draw one, so top-k and top-p are
# checked apart.
check "max tokens" 0 "$VEIL" run "$M" --prompt "a" --max-tokens 3 --temperature 0
grep -q "3 generated" "$TMP/err" && grep -q "stopped: length" "$TMP/err" && ok ||
	bad "--max-tokens 3: $(cat "$TMP/err")"
check "top-k and top-p" 0 "$VEIL" run "$M" --prompt "a" --max-tokens 3 --top-k 5 --top-p 0.9
grep -Eq "[1-3] generated" "$TMP/err" && ok || bad "--top-k 5 --top-p 0.9: $(cat "$TMP/err")"

# A stop sequence taken from the greedy text: the output ends before it.
text="$(cat "$TMP/greedy")"
stop="${text:6:3}"
want="${text%%"$stop"*}"
check "stop sequence" 0 "$VEIL" run "$M" --prompt "the quick brown fox" --temperature 0 \
	--max-tokens 24 --stop "$stop"
[ "$(cat "$TMP/out")" = "$want" ] && ok || bad "--stop: got '$(cat "$TMP/out")', want '$want'"
grep -q "stopped: stop sequence" "$TMP/err" && ok || bad "--stop: summary says why"

check "chat" 0 "$VEIL" run "$TMP/chat.gguf" --chat --system "be brief" --prompt "hello world" \
	--temperature 0 --max-tokens 8
grep -q "prompt tokens" "$TMP/err" && ok || bad "--chat summary"

# The sealed copy gives the same text; without its key or with another
# it does not open.
check "seal" 0 "$VEIL" seal --in "$M" --out "$TMP/spm.sealed" --key-out "$TMP/spm.key" \
	--resource default/model/run
check "sealed, greedy" 0 "$VEIL" run "$TMP/spm.sealed" --key-file "$TMP/spm.key" \
	--prompt "the quick brown fox" --temperature 0 --max-tokens 24
cmp -s "$TMP/out" "$TMP/greedy" && ok || bad "the sealed model generates other text"
check "sealed, no key" 2 "$VEIL" run "$TMP/spm.sealed" --prompt "x"
grep -q "is sealed (its key is the KBS resource 'default/model/run')" "$TMP/err" && ok ||
	bad "no key: says so ($(cat "$TMP/err"))"
head -c 32 /dev/urandom >"$TMP/wrong.key"
check "sealed, wrong key" 1 "$VEIL" run "$TMP/spm.sealed" --key-file "$TMP/wrong.key" --prompt "x"
grep -q "wrong key" "$TMP/err" && ok || bad "wrong key: says so ($(cat "$TMP/err"))"

check "another architecture" 2 "$VEIL" run "$TMP/other.gguf" --prompt "x"
grep -q "architecture 'falcon' is not supported" "$TMP/err" && ok || bad "falcon: $(cat "$TMP/err")"
echo "not a model" >"$TMP/junk"
check "not a model" 2 "$VEIL" run "$TMP/junk" --prompt "x"
grep -q "neither a GGUF model nor a sealed model" "$TMP/err" && ok || bad "junk: $(cat "$TMP/err")"
check "missing file" 2 "$VEIL" run "$TMP/nothing" --prompt "x"

check "no prompt" 2 "$VEIL" run "$M"
check "no model" 2 "$VEIL" run --prompt "x"
check "top-p 0" 2 "$VEIL" run "$M" --prompt "x" --top-p 0
check "temperature word" 2 "$VEIL" run "$M" --prompt "x" --temperature hot
check "max-tokens 0" 2 "$VEIL" run "$M" --prompt "x" --max-tokens 0
check "threads -1" 2 "$VEIL" run "$M" --prompt "x" --threads -1
check "system without chat" 2 "$VEIL" run "$M" --prompt "x" --system "y"
check "unknown option" 2 "$VEIL" run "$M" --prompt "x" --fast
check "help" 0 "$VEIL" run --help
grep -q "usage: veil run" "$TMP/out" && ok || bad "--help prints usage"
finish
