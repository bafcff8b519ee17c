#!/usr/bin/env bash
# Runs every Go test of the module, as `go test ./...` does, in less time on two cores.
#
# go test links each test binary again on every run: about 4 s of CPU here, 1.3 s of it the
# 106 MB stacks binary. `go test -c` keeps linked binaries in the build cache, so this script
# builds them with -c and runs each in its package's folder, with go test's defaults. The two
# long runs start first, side by side: stacks (whose worker synthesizes beside it) and
# assets/ops (which waits on moto_server); the short ones follow, one at a time.
#
# Usage: assets/gotest.sh <folder for the binaries> [go build flags ...]
# Prints an ok or FAIL line per package, and a failing package's whole output. Exits 1 when a
# package fails, 2 when the tests do not build. A package passes only on its binary's exit 0.
set -uo pipefail

bin=$(mkdir -p "$1" && CDPATH='' cd -P "$1" && pwd) || exit 2
shift
rm -f "$bin"/*.rc "$bin"/*.log

# Packages with tests, as "import path<TAB>folder", listed with the same build flags.
list=$(go list "$@" -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{"\t"}}{{.Dir}}{{end}}' ./...) || exit 2
list=$(printf '%s\n' "$list" | grep .) || { echo "go list found no package with tests" >&2; exit 2; }
if ! go test -c -o "$bin/" "$@" ./... >"$bin/build.log" 2>&1; then
  grep -v 'no test files' "$bin/build.log" >&2
  exit 2
fi

# As go test does: its Go first on the PATH (tests run go), nothing to read on stdin.
PATH="$(go env GOROOT)/bin:$PATH"

# Ctrl-C reaches the foreground only, and background jobs of a script ignore SIGINT: end every
# test (and the servers and workers they started) with this script.
trap 'trap - INT TERM; kill -TERM 0' INT TERM

# now prints the time in nanoseconds (in whole seconds where date has no %N, as on macOS).
now() {
  local t
  t=$(date +%s%N)
  [[ $t == *N ]] && t=$(($(date +%s) * 1000000000))
  echo "$t"
}

# run <import path> <folder>: runs the package's test binary in its folder; leaves the output
# in <name>.log, the exit status in <name>.rc and the time taken in <name>.time.
run() {
  local name=${1##*/} start end
  start=$(now)
  (cd "$2" && "$bin/$name.test" -test.paniconexit0 -test.timeout=10m0s) </dev/null >"$bin/$name.log" 2>&1
  echo $? >"$bin/$name.rc"
  end=$(now)
  printf '%d.%03ds' $(((end - start) / 1000000000)) $((((end - start) / 1000000) % 1000)) >"$bin/$name.time"
}

pids=()
while IFS=$'\t' read -r pkg dir; do
  case "$pkg" in
  */stacks | */assets/ops)
    run "$pkg" "$dir" &
    pids+=($!)
    ;;
  esac
done <<<"$list"
while IFS=$'\t' read -r pkg dir; do
  case "$pkg" in
  */stacks | */assets/ops) ;;
  *) run "$pkg" "$dir" ;;
  esac
done <<<"$list"
[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"

failed=0
while IFS=$'\t' read -r pkg _; do
  name=${pkg##*/}
  if [ "$(cat "$bin/$name.rc" 2>/dev/null)" = 0 ]; then
    printf 'ok  \t%s\t%s\n' "$pkg" "$(cat "$bin/$name.time")"
  else
    cat "$bin/$name.log" 2>/dev/null
    printf 'FAIL\t%s\n' "$pkg"
    failed=1
  fi
done <<<"$list"
exit $failed
