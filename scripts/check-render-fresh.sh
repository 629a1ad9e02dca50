#!/usr/bin/env bash
# Fails when a committed render is stale. A repository that commits its GitOps tree keeps one
# folder per stack, as `npm run render -- --stack <stack> --out gitops/<stack>` writes it; this
# re-renders each such stack into a temporary folder and compares every file (the render is
# deterministic: the same program, stack and charts give byte-identical files).
# Usage: scripts/check-render-fresh.sh [<folder holding the <stack>/ folders, default gitops>] [render options...]
set -euo pipefail
cd "$(dirname "$0")/.."

root=${1:-gitops}
[ $# -gt 0 ] && shift
if [ ! -d "$root" ]; then
  echo "render-fresh: no committed render ($root/ does not exist); nothing to compare"
  exit 0
fi
status=0
for dir in "$root"/*/; do
  stack=$(basename "$dir")
  tmp=$(mktemp -d)
  if ! npm run --silent render -- --stack "$stack" --out "$tmp/$stack" "$@" >"$tmp/log" 2>&1; then
    echo "render-fresh: the render of stack $stack failed:" >&2
    sed 's/^/  /' "$tmp/log" >&2
    status=1
  elif diff -r -q "${dir%/}" "$tmp/$stack" >"$tmp/diff"; then
    echo "render-fresh: $root/$stack is up to date"
  else
    echo "render-fresh: $root/$stack is stale; re-render it with: npm run render -- --stack $stack --out $root/$stack $*" >&2
    sed -e "s#$tmp/$stack#(fresh)#g" -e 's/^/  /' "$tmp/diff" >&2
    # The first lines of what changed, so a reviewer sees why without re-rendering.
    diff -ru "${dir%/}" "$tmp/$stack" | sed -e "s#$tmp/$stack#(fresh)#g" | head -n 40 | sed 's/^/    /' >&2 || true
    status=1
  fi
  rm -rf "$tmp"
done
exit $status
