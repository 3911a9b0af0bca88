#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, installed with `npm install -g` into a clean temporary
# prefix (no dev dependency, no checkout), then run: --version, `aifd run` with a config (it must
# answer /healthz and forward to a mock upstream), and `aifd top` in a pseudo-terminal against it.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
daemon=""
mock=""
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null || true
  [ -n "$mock" ] && kill "$mock" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check-package: $*" >&2; exit 1; }

tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
tar -tzf "$work/$tarball" >"$work/contents"
for file in completions/aifd.bash hub.config.example.json dist/usage/token-worker.js deploy/aifd.service; do
  grep -qx "package/$file" "$work/contents" || fail "$file is not in the package"
done
if grep -qE '^package/(src|test|bench)/' "$work/contents"; then fail "sources or tests are in the package"; fi

# A clean prefix and a cache of its own: nothing from this checkout's node_modules is used.
npm install -g --prefix "$work/prefix" --cache "$work/npm-cache" --prefer-online --no-audit --no-fund \
  "$work/$tarball" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "npm install -g failed"; }
aifd="$work/prefix/bin/aifd"
version="$("$aifd" --version)"
[ "$version" = "$(node -p 'require("./package.json").version')" ] || fail "aifd --version printed '$version'"

# A mock upstream from this checkout (the installed aifd does not know it), and a config for aifd.
node --import tsx -e '
  import("./test/mock-upstream/mock-upstream.ts").then(async ({ startMockUpstream }) => {
    const mock = await startMockUpstream();
    console.log(mock.port);
  });' >"$work/mock.port" &
mock=$!
for _ in $(seq 1 100); do [ -s "$work/mock.port" ] && break; sleep 0.1; done
mock_port="$(cat "$work/mock.port")"
mkdir -p "$work/run"
cat >"$work/run/hub.config.json" <<JSON
{
  "listen": { "port": 0 },
  "admin": { "port": 0, "token": "package-check-admin-token" },
  "store": "sqlite://./state.sqlite",
  "upstreams": [{ "name": "openai", "baseUrl": "http://127.0.0.1:$mock_port", "keys": ["sk-package-check-pool-key-0000000"] }],
  "auth": { "anonymous": true }
}
JSON
(cd "$work/run" && exec "$aifd" run --workers 2) 2>"$work/run/banner.log" &
daemon=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$work/run/banner.log" 2>/dev/null && break; sleep 0.1; done
url="$(grep -o 'listening on http://[0-9.:]*' "$work/run/banner.log" | head -n 1 | cut -d' ' -f3)"
[ -n "$url" ] || { cat "$work/run/banner.log"; fail "aifd run did not start"; }
curl -sf "$url/healthz" | grep -q '"ok"' || fail "/healthz did not answer"
curl -sf "$url/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' | grep -q '"chat.completion"' ||
  fail "a chat completion was not forwarded"
if grep -q 'sk-package-check-pool-key' "$work/run/banner.log"; then fail "the banner shows a pool key"; fi

# aifd top in a pseudo-terminal (util-linux script), found through the daemon's runtime file.
top_out="$(cd "$work/run" && { sleep 3; printf q; } | timeout 20 script -qfec "stty cols 110 rows 30; $aifd top" /dev/null || true)"
echo "$top_out" | grep -q 'openai' || { echo "$top_out" | tail -n 20; fail "aifd top did not show the upstream"; }
grep -q '(2 workers)' "$work/run/banner.log" || fail "aifd run --workers 2 did not start its workers"
kill "$daemon"
wait "$daemon" 2>/dev/null || true
daemon=""

# Installed where sqlite3's binary could neither be fetched nor built: one clear line, exit 1.
bindings="$(find "$work/prefix/lib/node_modules/aifd/node_modules/sqlite3" -name node_sqlite3.node)"
[ -n "$bindings" ] || fail "sqlite3's binary is not where the package installs it"
for binding in $bindings; do mv "$binding" "$binding.away"; done
set +e
(cd "$work/run" && timeout 20 "$aifd" run) 2>"$work/run/no-sqlite.log"
code=$?
set -e
for binding in $bindings; do mv "$binding.away" "$binding"; done
[ "$code" = 1 ] || { cat "$work/run/no-sqlite.log"; fail "aifd run without sqlite3's binary exited with $code"; }
grep -q 'the SQLite driver (sqlite3) cannot load' "$work/run/no-sqlite.log" ||
  { cat "$work/run/no-sqlite.log"; fail "aifd run without sqlite3's binary did not say why"; }
echo "check-package: $tarball installs into a clean prefix and runs (aifd $version, --workers 2); without sqlite3's binary it says so"

