#!/usr/bin/env bash
# A real llama.cpp model server (llama-server) for end-to-end tests and the local stack, with
# no Docker, no PyPI and no model download.
#
# llama-server comes from Debian sid (llama.cpp-tools), installed by debootstrap into a chroot
# cached outside the repo beside the Synapse one (see scripts/lib/chroot.sh). No Debian package
# ships model weights, so the build also generates a tiny random-weight LLaMA GGUF
# (scripts/llama/tiny-model.py: real Mistral tokenizer, ChatML template, ~5 MB, context 512)
# into the cache: it loads in under a second and streams tokens like a real model, but its
# replies are gibberish and it rarely stops by itself (always send max_tokens).
#
#   scripts/llama.sh build
#   scripts/llama.sh model                      prints the tiny model's path (building it if needed)
#   scripts/llama.sh start  --data DIR --port PORT [--model FILE.gguf] [--alias NAME]
#                           [--ctx N] [--parallel N] [--threads N] [--no-jinja]
#   scripts/llama.sh stop   --data DIR
#   scripts/llama.sh status --data DIR
#
# start listens on 127.0.0.1:PORT and returns once /health says the model is loaded. Defaults:
# the tiny model, alias "tiny", context 512, 1 slot, 1 thread (the test machines have 2 cores
# shared with Synapse and the bridge; more threads than cores makes llama.cpp crawl). The model
# file is bind-mounted read-only into the chroot inside a private mount namespace, so any GGUF
# on the host works. Files a caller may read in DIR: llama.pid, port, alias, llama-server.log.
#
# Needs root (debootstrap, chroot, unshare), and curl. Environment:
#   PERSONAS_CACHE_DIR            cache root (default ~/.cache/matrix-appservice-personas)
#   PERSONAS_DEBIAN_MIRROR        debootstrap mirror (default: debootstrap's own)
#   PERSONAS_LLAMA_START_TIMEOUT  seconds to wait for the model to load (default 120)
set -euo pipefail

SCRIPT_NAME=llama.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/chroot.sh
source "$HERE/lib/chroot.sh"
ROOT="$CACHE_DIR/llama-root"
# Written last, after the chroot proved llama-server runs: a root without it is never used.
MARKER=".personas-llama-ready"
GENERATOR="$HERE/llama/tiny-model.py"
START_TIMEOUT="${PERSONAS_LLAMA_START_TIMEOUT:-120}"
STOP_TIMEOUT=15
# Where the model's folder appears inside the chroot.
MODEL_MOUNT=/model
# python3-sentencepiece reads the tokenizer for the generator; python3-mistral-common ships it.
PACKAGES=llama.cpp-tools,python3-gguf,python3-numpy,python3-sentencepiece,python3-mistral-common

is_built() { [ -f "$ROOT/$MARKER" ]; }

# The tiny model's file name carries a hash of its generator, so a changed generator yields
# a new model instead of silently reusing the old one.
tiny_model_path() {
  echo "$CACHE_DIR/models/personas-tiny-$(sha256sum "$GENERATOR" | cut -c1-12).gguf"
}

cmd_build() {
  need_root
  mkdir -p "$CACHE_DIR"
  # Serialised per chroot (a separate lock from Synapse's, so both can build at once); the
  # fd is closed again so a llama-server started later does not inherit the lock.
  exec 9>"$CACHE_DIR/.llama-build.lock"
  flock 9
  build_locked "$@"
  build_tiny_model "$@"
  exec 9>&-
}

build_locked() {
  if is_built; then
    [ "${1:-}" = quiet ] || log "chroot ready at $ROOT ($(cat "$ROOT/$MARKER"))"
    return 0
  fi
  clean_unfinished "$ROOT"
  local tmp="$ROOT.tmp.$$" buildlog="$CACHE_DIR/llama-build.log" t0=$SECONDS
  log "building the llama.cpp chroot (Debian sid, 1-3 min); log: $buildlog"
  debootstrap_sid "$tmp" "$buildlog" "$PACKAGES"
  local version
  if ! version="$("${CHROOT_ENV[@]}" chroot "$tmp" llama-server --version 2>&1 | head -n 1)" \
      || ! "${CHROOT_ENV[@]}" chroot "$tmp" python3 -c 'import gguf, numpy, sentencepiece' 2>>"$buildlog"; then
    tail -n 30 "$buildlog" >&2
    safe_rm_tree "$tmp"
    die "llama-server or the GGUF writer does not run inside the new chroot"
  fi
  "${CHROOT_ENV[@]}" chroot "$tmp" apt-get clean >>"$buildlog" 2>&1 || true
  mkdir -p "$tmp$MODEL_MOUNT"
  echo "llama-server $version, built $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/$MARKER"
  mv -T "$tmp" "$ROOT"
  log "chroot ready at $ROOT (llama-server $version, $((SECONDS - t0)) s)"
}

build_tiny_model() {
  local out
  out="$(tiny_model_path)"
  [ -s "$out" ] && return 0
  mkdir -p "$(dirname "$out")"
  # The generator runs inside the chroot (where gguf and the tokenizer are) and writes into
  # the chroot's /tmp; the result is moved out into the cache atomically.
  local inside="/tmp/tiny-model.$$"
  cp -- "$GENERATOR" "$ROOT$inside.py"
  if ! "${CHROOT_ENV[@]}" chroot "$ROOT" python3 "$inside.py" "$inside.gguf" >&2; then
    rm -f "$ROOT$inside.py" "$ROOT$inside.gguf"
    die "generating the tiny model failed"
  fi
  rm -f "$ROOT$inside.py"
  mv -- "$ROOT$inside.gguf" "$out.tmp.$$"
  mv -T -- "$out.tmp.$$" "$out"
  [ "${1:-}" = quiet ] || log "tiny model ready at $out ($(du -h "$out" | cut -f1))"
}

cmd_model() {
  need_root
  cmd_build quiet
  tiny_model_path
}

# ---- argument parsing shared by start/stop/status ------------------------------------------
DATA="" PORT="" MODEL="" ALIAS="tiny" CTX=512 PARALLEL=1 THREADS=1 JINJA=--jinja
parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --data) DATA="${2:?--data needs a value}"; shift 2 ;;
      --port) PORT="${2:?--port needs a value}"; shift 2 ;;
      --model) MODEL="${2:?--model needs a value}"; shift 2 ;;
      --alias) ALIAS="${2:?--alias needs a value}"; shift 2 ;;
      --ctx) CTX="${2:?--ctx needs a value}"; shift 2 ;;
      --parallel) PARALLEL="${2:?--parallel needs a value}"; shift 2 ;;
      --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
      # A server that refuses requests with tools (HTTP 500 "tools param requires --jinja flag").
      --no-jinja) JINJA=--no-jinja; shift ;;
      *) die "unknown argument $1" ;;
    esac
  done
  [ -n "$DATA" ] || die "--data DIR is required"
  DATA="$(realpath -m -- "$DATA")"
  local n
  for n in "$PORT" "$CTX" "$PARALLEL" "$THREADS"; do
    [ -z "$n" ] || [[ "$n" =~ ^[0-9]+$ ]] || die "--port, --ctx, --parallel and --threads take numbers (got $n)"
  done
}

lock_data_dir() {
  mkdir -p "$DATA"
  exec 8>"$DATA/.lock"
  flock 8
}

# Pid of this data dir's running llama-server, or nothing (a reused pid is not mistaken for it).
running_pid() {
  local pid
  [ -f "$DATA/llama.pid" ] || return 0
  pid="$(cat "$DATA/llama.pid")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] \
      && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'llama-server'; then
    echo "$pid"
  fi
}

health_ok() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/health" 2>/dev/null; }

cmd_start() {
  need_root
  parse_args "$@"
  [ -n "$PORT" ] || die "--port PORT is required"
  command -v curl >/dev/null 2>&1 || die "curl is needed to wait for llama-server"
  lock_data_dir
  local pid
  pid="$(running_pid)"
  if [ -n "$pid" ]; then
    log "already running for $DATA (pid $pid, port $(cat "$DATA/port" 2>/dev/null || echo '?')); reusing it"
    return 0
  fi
  rm -f "$DATA/llama.pid"
  cmd_build quiet
  [ -n "$MODEL" ] || MODEL="$(tiny_model_path)"
  [ -f "$MODEL" ] || die "model file not found: $MODEL"
  MODEL="$(realpath -- "$MODEL")"
  echo "$PORT" >"$DATA/port"
  echo "$ALIAS" >"$DATA/alias"
  : >"$DATA/llama-server.log"

  # As in synapse.sh: unshare execs sh, which execs chroot, which execs llama-server, so $! is
  # the server's own pid, and the read-only bind mount of the model's folder lives exactly as
  # long as that process, in its private mount namespace.
  # shellcheck disable=SC2016 # expanded by the inner sh, from its own arguments
  "${CHROOT_ENV[@]}" unshare --mount --propagation private -- /bin/sh -c '
      mount --bind -o ro "$1" "$2$3" && exec chroot "$2" llama-server -m "$3/$4" \
        --host 127.0.0.1 --port "$5" -a "$6" -c "$7" -np "$8" -t "$9" "${10}" --no-webui
    ' llama "$(dirname "$MODEL")" "$ROOT" "$MODEL_MOUNT" "$(basename "$MODEL")" \
      "$PORT" "$ALIAS" "$CTX" "$PARALLEL" "$THREADS" "$JINJA" \
    </dev/null >>"$DATA/llama-server.log" 2>&1 8>&- &
  pid=$!
  echo "$pid" >"$DATA/llama.pid"

  local t0=$SECONDS
  until health_ok "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$DATA/llama.pid"
      tail -n 40 "$DATA/llama-server.log" >&2
      die "llama-server exited during startup"
    fi
    if [ $((SECONDS - t0)) -ge "$START_TIMEOUT" ]; then
      tail -n 40 "$DATA/llama-server.log" >&2
      stop_pid "$pid"
      die "llama-server did not become healthy on port $PORT within $START_TIMEOUT s"
    fi
    sleep 0.1
  done
  log "llama-server up on http://127.0.0.1:$PORT/v1 (model $ALIAS = $MODEL, context $CTX, pid $pid)"
}


cmd_stop() {
  need_root
  parse_args "$@"
  [ -d "$DATA" ] || { log "no data dir $DATA; nothing to stop"; return 0; }
  lock_data_dir
  local pid
  pid="$(running_pid)"
  rm -f "$DATA/llama.pid"
  if [ -z "$pid" ]; then
    log "not running for $DATA"
    return 0
  fi
  stop_pid "$pid"
  log "stopped llama-server for $DATA (pid $pid)"
}

cmd_status() {
  parse_args "$@"
  local pid
  pid="$(running_pid)"
  if [ -n "$pid" ]; then
    echo "running pid=$pid port=$(cat "$DATA/port" 2>/dev/null || echo '?') alias=$(cat "$DATA/alias" 2>/dev/null || echo '?')"
  else
    echo "stopped"
    return 3
  fi
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
sub="$1"; shift
case "$sub" in
  build) cmd_build ;;
  model) cmd_model ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  -h|--help|help) usage ;;
  *) log "unknown command $sub"; usage ;;
esac
