#!/usr/bin/env bash
# The example HTTP server (examples/http_server.rs, axum with idem's Idempotency-Key layer)
# checked from outside with curl: no key -> 400 problem+json, a replay -> the first body byte for
# byte with `Idempotent-Replayed: true`, the key with another body -> 422, a duplicate while
# the first runs -> 409, another caller -> a run of its own, no caller -> 401 with a challenge. Starts the server on a free port of
# 127.0.0.1 with a redb store in a temporary directory, and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v curl >/dev/null || { echo "curl_test: curl is required" >&2; exit 1; }
# With every feature, as the test suite builds it: its build is reused.
cargo build --quiet --example http_server --all-features
target_dir=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
binary="$target_dir/debug/examples/http_server"

work=$(mktemp -d)
IDEM_HTTP_ADDR=127.0.0.1:0 IDEM_HTTP_STORE="$work/orders.redb" "$binary" \
  >"$work/server.out" 2>"$work/server.err" &
server=$!
stop() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

# The server prints `listening on http://ADDR` once it is bound (30 s at most).
for _ in $(seq 1 300); do
  grep -q '^listening on ' "$work/server.out" && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.err" >&2; echo "curl_test: the server exited" >&2; exit 1; }
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/server.out")
[ -n "$base" ] || { echo "curl_test: the server did not start" >&2; exit 1; }
echo "curl_test: server at $base"

passed=0
failed=0
check() { # description, then a command that must succeed
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $what"
  else
    failed=$((failed + 1))
    echo "FAILED: $what" >&2
  fi
}

# post NAME USER KEY BODY [QUERY]: POST /orders; the status in $work/NAME.status, the headers in
# $work/NAME.headers, the body in $work/NAME.body. An empty USER sends no Authorization, an
# empty KEY no Idempotency-Key.
post() {
  local name=$1 user=$2 key=$3 body=$4 query=${5:-}
  local args=(-sS --max-time 60 -o "$work/$name.body" -D "$work/$name.headers" -w '%{http_code}'
    -X POST "$base/orders$query" -H 'Content-Type: application/json' --data "$body")
  if [ -n "$user" ]; then
    args+=(-H "Authorization: Bearer $user")
  fi
  if [ -n "$key" ]; then
    args+=(-H "Idempotency-Key: $key")
  fi
  curl "${args[@]}" >"$work/$name.status"
}
status() { cat "$work/$1.status"; }
header() { # NAME HEADER: the header's value (case-insensitive name), without the CR
  grep -i "^$2:" "$work/$1.headers" | head -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}
is() { [ "$1" = "$2" ] || { echo "  expected '$2', got '$1'" >&2; return 1; }; }

key="\"$(cat /proc/sys/kernel/random/uuid)\""
order='{"item":"apple","quantity":2}'

post missing alice "" "$order"
check "no Idempotency-Key: 400" is "$(status missing)" 400
check "no Idempotency-Key: application/problem+json" \
  is "$(header missing content-type)" "application/problem+json"
check "no Idempotency-Key: the problem has type, title and detail" \
  grep -q '"type":.*"title":.*"detail":' "$work/missing.body"

post bare alice "$(cat /proc/sys/kernel/random/uuid)" "$order"
check "a bare key (not an sf-string): 400" is "$(status bare)" 400

post first alice "$key" "$order"
check "first request: 201" is "$(status first)" 201
check "first request: not a replay" is "$(header first idempotent-replayed)" ""

post retry alice "$key" "$order"
check "retry: 201" is "$(status retry)" 201
check "retry: Idempotent-Replayed: true" is "$(header retry idempotent-replayed)" true
check "retry: the first body, byte for byte" cmp -s "$work/first.body" "$work/retry.body"
check "retry: the first Location" is "$(header retry location)" "$(header first location)"

post reused alice "$key" '{"item":"pear","quantity":2}'
check "the key with another body: 422" is "$(status reused)" 422
check "the key with another body: application/problem+json" \
  is "$(header reused content-type)" "application/problem+json"

post other_caller bob "$key" "$order"
check "another caller with the same key: 201, a run of its own" \
  is "$(status other_caller)/$(header other_caller idempotent-replayed)" "201/"

# No Authorization header: the caller function finds no caller, 401 with the API's challenge.
post anonymous "" "\"$(cat /proc/sys/kernel/random/uuid)\"" "$order"
check "no caller: 401 with a WWW-Authenticate challenge" \
  is "$(status anonymous) $(header anonymous www-authenticate)" '401 Bearer realm="orders"'

# Two requests with one key at once, the handler taking 3 s: one runs, the other gets 409.
slow_key="\"$(cat /proc/sys/kernel/random/uuid)\""
post slow_a alice "$slow_key" "$order" "?latency_ms=3000" &
a=$!
post slow_b alice "$slow_key" "$order" "?latency_ms=3000" &
b=$!
wait "$a" "$b"
statuses=$(printf '%s\n%s\n' "$(status slow_a)" "$(status slow_b)" | sort | tr '\n' ' ')
check "a duplicate while the first runs: 409 (and the first 201)" is "$statuses" "201 409 "

count=$(curl -sS --max-time 10 "$base/orders")
check "the handler ran once per key and caller: 3 orders" is "$count" "3 orders placed"

echo "curl_test: $passed passed, $failed failed"
[ "$failed" = 0 ]
