#!/usr/bin/env bash
# Fails if C sources use a banned function (CONVENTIONS.md): strcpy strcat
# sprintf vsprintf gets atoi atol strtok sscanf, or strtol/strtoul without a
# comment on the same line saying why the call is safe ("bounded:" or
# "checked:").
set -uo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h')
[ -n "$files" ] || { echo "check-banned: no sources"; exit 1; }
status=0
if grep -nE '(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok|sscanf)[[:space:]]*\(' $files; then
	echo "check-banned: banned function above (see CONVENTIONS.md)"
	status=1
fi
if grep -nE '(^|[^A-Za-z0-9_])strto(l|ul|ll|ull)[[:space:]]*\(' $files | grep -vE '(bounded|checked):'; then
	echo "check-banned: strtol-family call without a 'bounded:' or 'checked:' comment"
	status=1
fi
[ $status -eq 0 ] && echo "check-banned: ok ($(wc -w <<<"$files") files)"
exit $status
