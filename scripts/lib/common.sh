# Shared helpers for Attest's scripts. Every `ensure_*` is idempotent: it checks
# first and installs only what is missing, so the scripts run on a fresh machine
# and cost nothing on a prepared one.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The build cache lives outside the checkout so clean clones build incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attest-target}"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_wasm_target() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown && return
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
}

# wasm-bindgen-cli must be exactly the wasm-bindgen version in Cargo.lock.
ensure_wasm_bindgen() {
  local want
  want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
  [ -n "$want" ] || die "wasm-bindgen is not in Cargo.lock"
  if command -v wasm-bindgen >/dev/null && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$want" ]; then
    return
  fi
  log "installing wasm-bindgen-cli $want (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "=$want" --force
}

# binaryen's wasm-opt and playwright-core, pinned in package.json / package-lock.json.
ensure_node_modules() {
  command -v npm >/dev/null || die "Node.js and npm are required (apt-get install nodejs npm)"
  if [ ! -x "$ROOT/node_modules/.bin/wasm-opt" ] || [ ! -d "$ROOT/node_modules/playwright-core" ] \
     || [ ! -d "$ROOT/node_modules/oidc-provider" ] \
     || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm tooling (binaryen, playwright-core, oidc-provider)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] && return
  log "installing Debian's chromium for browser tests"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# Python packages the tests use: aiosmtpd (the SMTP server of the mail tests),
# cryptography (Ed25519, for the independent audit checkpoint verifier) and
# schemathesis (API fuzzing). They live in a virtual environment under the build
# directory, created once: Debian's Python refuses system-wide installs (PEP 668).
PYTHON_VENV="$CARGO_TARGET_DIR/python-venv"
ensure_python_packages() {
  if [ ! -x "$PYTHON_VENV/bin/python3" ]; then
    log "creating the tests' Python environment in $PYTHON_VENV"
    if ! python3 -m venv "$PYTHON_VENV" 2>/dev/null; then
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$PYTHON_VENV"
      python3 -m venv "$PYTHON_VENV"
    fi
  fi
  # Everything started from here on (the tests, scripts/fuzz-api) finds this python3 first.
  export PATH="$PYTHON_VENV/bin:$PATH"
  python3 -c 'import aiosmtpd, cryptography, schemathesis' 2>/dev/null && return
  log "installing aiosmtpd, cryptography and schemathesis (Python, for the tests)"
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd==1.4.6 'cryptography>=42' \
    schemathesis==4.32.5
}

# PostgreSQL and Redis on their standard loopback ports: started if installed but down.
ensure_services() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    log "starting PostgreSQL"
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    [ -n "$version" ] || die "PostgreSQL is not installed (apt-get install postgresql)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not come up"
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    command -v redis-server >/dev/null || die "Redis is not installed (apt-get install redis-server)"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/attest-ci.log
    for _ in $(seq 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
}

ensure_console_tools() {
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_node_modules
}
