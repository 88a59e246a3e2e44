#!/usr/bin/env bash
# The whole thing on this machine in one command: a sandbox Synapse, the bridge registered
# with it, an admin account, and the seed personas from personas/ ready to chat.
#
#   sudo bash scripts/local-stack.sh
#
# It installs dependencies (npm ci) when they are missing, builds, starts Synapse
# (scripts/synapse.sh: a Debian chroot, built once, no Docker), writes the bridge config and
# registration, registers them with Synapse, creates @admin:localhost, starts the bridge and
# prints how to log in. Ctrl-C stops what it started. State (config, registration, database,
# Synapse's data, the admin password) lives in .local/ and is reused by the next run: same
# tokens, same password, same rooms. Delete .local/ to start from scratch.
#
# The LLM is whatever .local/config.yaml says: by default a local Ollama at
# http://127.0.0.1:11434/v1 with model llama3.1 (`ollama pull llama3.1`). When that does not
# answer (and PERSONAS_LLM_URL is not set), the stack starts its own llama.cpp server
# (scripts/llama.sh) on PERSONAS_LLAMA_PORT and points the personas at it: with the GGUF model
# in PERSONAS_GGUF (a path) or PERSONAS_GGUF_URL (downloaded once into the cache), else with
# the tiny generated demo model, whose replies are gibberish (random weights) but which shows
# the whole path working with no download at all.
#
# Environment (all optional):
#   PERSONAS_LLM_URL          LLM base URL written into the config (e.g. https://api.openai.com/v1)
#   PERSONAS_LLM_MODEL        model written into the config
#   OPENAI_API_KEY            API key, read by the bridge when llm.api_key is empty
#   PERSONAS_GGUF             a GGUF model file for the local llama.cpp server
#   PERSONAS_GGUF_URL         a GGUF model to download (once, into the cache) for it
#   PERSONAS_LLAMA_PORT       the local llama.cpp server's port (default 8080)
#   PERSONAS_LLAMA_CTX        its context size for a real model (default 4096; the demo: 512)
#   PERSONAS_SYNAPSE_PORT     Synapse's client API port (default 8008)
#   PERSONAS_APPSERVICE_PORT  the bridge's port (default 9000)
#   PERSONAS_LOCAL_DIR        state folder (default .local in the repo)
#   PERSONAS_READY_TIMEOUT    seconds to wait for the bridge to be ready (default 180)
# Needs root (scripts/synapse.sh uses debootstrap, chroot and unshare), and the npm registry
# and apt for the first run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$(realpath -m -- "${PERSONAS_LOCAL_DIR:-$ROOT/.local}")"
HS_PORT="${PERSONAS_SYNAPSE_PORT:-8008}"
AS_PORT="${PERSONAS_APPSERVICE_PORT:-9000}"
READY_TIMEOUT="${PERSONAS_READY_TIMEOUT:-180}"
DOMAIN=localhost
ADMIN_LOCALPART='admin'
ADMIN="@$ADMIN_LOCALPART:$DOMAIN"
HS_URL="http://127.0.0.1:$HS_PORT"
AS_URL="http://127.0.0.1:$AS_PORT"
SYNAPSE_DATA="$STATE/synapse"
CONFIG="$STATE/config.yaml"
REGISTRATION="$STATE/registration.yaml"
PASSWORD_FILE="$STATE/admin-password"
BRIDGE_LOG="$STATE/bridge.log"
SYNAPSE=(bash "$ROOT/scripts/synapse.sh")
LLAMA=(bash "$ROOT/scripts/llama.sh")
LLAMA_DATA="$STATE/llama"
LLAMA_PORT="${PERSONAS_LLAMA_PORT:-8080}"
LLAMA_URL="http://127.0.0.1:$LLAMA_PORT/v1"
MODEL_CACHE="${PERSONAS_CACHE_DIR:-${HOME:-/root}/.cache/matrix-appservice-personas}/models"
# The helpers below run from their TypeScript sources (tools/ is not part of the build).
LOCALSTACK=(node --import "$ROOT/tools/register-ts.mjs" "$ROOT/tools/localstack/cli.ts")

say() { printf '\033[1mlocal-stack:\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

for port in "$HS_PORT" "$AS_PORT" "$LLAMA_PORT"; do
  [[ "$port" =~ ^[0-9]+$ ]] || die "ports must be numbers (got '$port')"
done
[ "$(id -u)" -eq 0 ] || die "run it as root (sudo): the sandbox Synapse needs debootstrap, chroot and unshare"
if ! command -v curl >/dev/null 2>&1; then
  say "installing curl (scripts/synapse.sh waits for Synapse with it)"
  apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y curl >&2
fi

# ---- what this run started, stopped again on exit (Ctrl-C, error, or the bridge dying) ----
BRIDGE_PID=""
LOG_VIEW_PID=""
STARTED_SYNAPSE=0
STARTED_LLAMA=0
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local status=$? bridge_status=0
  trap - EXIT INT TERM
  if [ -n "$BRIDGE_PID" ]; then
    # In a terminal, Ctrl-C has signalled the bridge too: it may be shutting down already.
    say "stopping the bridge (pid $BRIDGE_PID)"
    kill -TERM "$BRIDGE_PID" 2>/dev/null || true
    wait "$BRIDGE_PID" 2>/dev/null || bridge_status=$?
    # Its last lines (the shutdown) reach the terminal before anything else is said.
    [ -z "$LOG_VIEW_PID" ] || wait "$LOG_VIEW_PID" 2>/dev/null || true
    if [ "$bridge_status" = 0 ]; then
      say "the bridge stopped cleanly"
    else
      say "the bridge did NOT stop cleanly (exit $bridge_status); see the end of $BRIDGE_LOG"
      status=1
    fi
    if [ -S "$STATE/admin.sock" ]; then
      say "it left its admin socket $STATE/admin.sock behind; the next start replaces it"
    fi
  fi
  if [ "$STARTED_SYNAPSE" = 1 ]; then
    say "stopping Synapse"
    "${SYNAPSE[@]}" stop --data "$SYNAPSE_DATA" || true
  fi
  if [ "$STARTED_LLAMA" = 1 ]; then
    say "stopping the local llama.cpp server"
    "${LLAMA[@]}" stop --data "$LLAMA_DATA" || true
  fi
  exit "$status"
}
trap cleanup EXIT
# A signal is the normal way to stop: exit 0 so cleanup reports success.
trap 'say "stopping (signal)"; exit 0' INT TERM

cd "$ROOT"
# shellcheck source=scripts/node-env.sh
source "$ROOT/scripts/node-env.sh"

# ---- dependencies and build ---------------------------------------------------------------
if [ ! -d node_modules ] || ! npm ls --depth=0 >/dev/null 2>&1; then
  say "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
say "building"
npm run --silent build

# ---- config and registration --------------------------------------------------------------
mkdir -p "$STATE"
chmod 700 "$STATE"
llm_args=()
# Another LLM than the demo model: its notice (below) goes.
[ -n "${PERSONAS_LLM_URL:-}" ] && llm_args+=(--llm-url "$PERSONAS_LLM_URL" --llm-notice '')
[ -n "${PERSONAS_LLM_MODEL:-}" ] && llm_args+=(--llm-model "$PERSONAS_LLM_MODEL")
if [ -f "$CONFIG" ]; then say "reusing $CONFIG"; else say "writing $CONFIG (from config.sample.yaml)"; fi
write_config() {
  "${LOCALSTACK[@]}" config --out "$CONFIG" --sample "$ROOT/config.sample.yaml" \
    --hs-url "$HS_URL" --domain "$DOMAIN" --as-port "$AS_PORT" --admin "$ADMIN" \
    --db "$STATE/personas.db" --personas "$ROOT/personas" "$@"
}
write_config ${llm_args[@]+"${llm_args[@]}"}

# ---- the LLM: the configured one, or a local llama.cpp server ------------------------------
LLM_NOTE=""
configured_llm_url() { "${LOCALSTACK[@]}" summary --config "$CONFIG" | sed -n 's/^llm \([^ ]*\).*/\1/p'; }
llm_answers() { curl -fsS -m 3 -o /dev/null ${OPENAI_API_KEY:+-H "Authorization: Bearer $OPENAI_API_KEY"} "$1/models" 2>/dev/null; }

# The model for the local server: PERSONAS_GGUF, else PERSONAS_GGUF_URL (downloaded once into
# the cache), else nothing (the tiny demo model).
local_model() {
  if [ -n "${PERSONAS_GGUF:-}" ]; then
    [ -f "$PERSONAS_GGUF" ] || die "PERSONAS_GGUF: no such file: $PERSONAS_GGUF"
    realpath -- "$PERSONAS_GGUF"
  elif [ -n "${PERSONAS_GGUF_URL:-}" ]; then
    local file
    file="$MODEL_CACHE/$(basename "${PERSONAS_GGUF_URL%%\?*}")"
    if [ ! -s "$file" ]; then
      mkdir -p "$MODEL_CACHE"
      say "downloading $PERSONAS_GGUF_URL into $file"
      if ! curl -fL --retry 3 -o "$file.part" "$PERSONAS_GGUF_URL" >&2 || ! mv -- "$file.part" "$file"; then
        rm -f -- "$file.part"
        say "the download failed (no internet?); using the tiny demo model instead"
        return 0
      fi
    fi
    echo "$file"
  fi
}

# What the personas say once per room on the demo model, so chat users know why they read nonsense.
DEMO_NOTICE="I run on a demo model that writes nonsense (random weights: it shows the bridge working without a download). To give the personas a real model, see \"The local default model\" in docs/admin-guide.md."

start_local_llm() {
  local model alias ctx threads notice
  model="$(local_model)"
  if [ -n "$model" ]; then
    alias="$(basename "$model" .gguf)"; ctx="${PERSONAS_LLAMA_CTX:-4096}"; threads="$(nproc)"; notice=''
    LLM_NOTE="a local llama.cpp server on $LLAMA_URL with $model"
  else
    alias="personas-tiny-demo"; ctx=512; threads=1; notice="$DEMO_NOTICE"
    LLM_NOTE="DEMO: a local llama.cpp server on $LLAMA_URL with a tiny generated model (random weights: its replies are gibberish; the personas say so once in each chat)"
  fi
  # A server left by an earlier run may hold another model: start afresh.
  "${LLAMA[@]}" stop --data "$LLAMA_DATA" >/dev/null 2>&1 || true
  say "starting a local llama.cpp server on $LLAMA_URL (model $alias; the first run builds its chroot: a few minutes)"
  STARTED_LLAMA=1
  "${LLAMA[@]}" start --data "$LLAMA_DATA" --port "$LLAMA_PORT" ${model:+--model "$model"} --alias "$alias" --ctx "$ctx" --threads "$threads"
  write_config --llm-url "$LLAMA_URL" --llm-model "$alias" --llm-notice "$notice"
}

if [ -z "${PERSONAS_LLM_URL:-}" ]; then
  current="$(configured_llm_url)"
  if [ -n "${PERSONAS_GGUF:-}${PERSONAS_GGUF_URL:-}" ] || [ "$current" = "$LLAMA_URL" ]; then
    start_local_llm
  elif ! llm_answers "$current"; then
    say "the configured LLM ($current) does not answer"
    start_local_llm
  fi
fi

if [ -f "$REGISTRATION" ]; then
  if [ "$("${LOCALSTACK[@]}" registration-url --file "$REGISTRATION" --url "$AS_URL")" = updated ]; then
    say "registration now points at $AS_URL (tokens kept)"
  fi
else
  say "generating the appservice registration"
  node dist/main.js -r -c "$CONFIG" -u "$AS_URL" -f "$REGISTRATION" >/dev/null
fi

# ---- Synapse ------------------------------------------------------------------------------
# Synapse reads registrations only at start: one left running by an earlier run is reused
# only if it loaded this very registration.
loaded_registration="$SYNAPSE_DATA/appservices/01-registration.yaml"
if "${SYNAPSE[@]}" status --data "$SYNAPSE_DATA" >/dev/null 2>&1; then
  if cmp -s "$REGISTRATION" "$loaded_registration"; then
    say "Synapse is already running for $SYNAPSE_DATA; reusing it (and leaving it running on exit)"
  else
    say "Synapse is running with an older registration; restarting it"
    "${SYNAPSE[@]}" stop --data "$SYNAPSE_DATA"
  fi
fi
if ! "${SYNAPSE[@]}" status --data "$SYNAPSE_DATA" >/dev/null 2>&1; then
  say "starting Synapse on $HS_URL (the first run builds its chroot: a few minutes)"
  STARTED_SYNAPSE=1
  "${SYNAPSE[@]}" start --data "$SYNAPSE_DATA" --port "$HS_PORT" --server-name "$DOMAIN" --registration "$REGISTRATION"
fi

# ---- admin account ------------------------------------------------------------------------
if [ ! -s "$PASSWORD_FILE" ]; then
  (umask 077 && od -An -tx1 -N12 /dev/urandom | tr -d ' \n' >"$PASSWORD_FILE")
fi
PASSWORD="$(cat "$PASSWORD_FILE")"
"${SYNAPSE[@]}" register --data "$SYNAPSE_DATA" --port "$HS_PORT" "$ADMIN_LOCALPART" "$PASSWORD" --admin >/dev/null

# ---- preflight and the bridge -------------------------------------------------------------
say "checking the setup (node dist/main.js --check)"
if ! node dist/main.js --check -c "$CONFIG" -f "$REGISTRATION" >&2; then
  say "some checks failed (above); starting the bridge anyway"
fi

say "starting the bridge on $AS_URL; its log: $BRIDGE_LOG"
# Only this user may read it (rooms, people, what they wrote); an older run's file is tightened.
(umask 077 && : >"$BRIDGE_LOG")
chmod 600 "$BRIDGE_LOG"
# The bridge writes its output to the log file itself, not into a pipe: in a terminal, Ctrl-C
# signals the whole foreground group at once, and a pipe's reader (a tee) would die before
# the bridge had written its shutdown. A tail shows the log on the terminal until the bridge
# exits; as a background job of this script it ignores Ctrl-C. dist/main.js applies the
# memory settings itself (runtime.* in the config; its first log line says which), so it is
# started like anywhere else.
node dist/main.js -c "$CONFIG" -f "$REGISTRATION" >>"$BRIDGE_LOG" 2>&1 &
BRIDGE_PID=$!
tail -n +1 -f --pid="$BRIDGE_PID" "$BRIDGE_LOG" &
LOG_VIEW_PID=$!
t0=$SECONDS
until grep -q 'bridge ready' "$BRIDGE_LOG"; do
  kill -0 "$BRIDGE_PID" 2>/dev/null || { wait "$BRIDGE_PID" || true; BRIDGE_PID=""; die "the bridge exited during startup (log: $BRIDGE_LOG)"; }
  [ $((SECONDS - t0)) -lt "$READY_TIMEOUT" ] || die "the bridge was not ready within $READY_TIMEOUT s (log: $BRIDGE_LOG)"
  sleep 0.2
done

summary="$("${LOCALSTACK[@]}" summary --config "$CONFIG")"
bot="$(sed -n 's/^bot //p' <<<"$summary")"
llm="$(sed -n 's/^llm //p' <<<"$summary")"
personas="$(sed -n 's/^persona /    /p' <<<"$summary")"
[ -n "$personas" ] || personas="    (none: personas/ has no seed files; spawn one with the bot)"
cat <<EOF

================================================================================
  The local stack is up.

  Homeserver URL: $HS_URL
  User:           $ADMIN
  Password:       $PASSWORD

  Connect any Matrix client to the homeserver URL and sign in with that user:
    - Element Desktop or Element Web: on the sign-in screen, "Edit" the homeserver,
      enter $HS_URL, then the user "$ADMIN_LOCALPART" and the password.
    - From a terminal, e.g.:
        curl -s $HS_URL/_matrix/client/v3/login -d '{"type":"m.login.password",
          "identifier":{"type":"m.id.user","user":"$ADMIN_LOCALPART"},"password":"$PASSWORD"}'
  Then start a direct chat with a persona:
$personas
  or invite the bridge bot $bot and say !help (you are its admin: !persona spawn ...).

  LLM: $llm${LLM_NOTE:+
       $LLM_NOTE}
  To use a real model: PERSONAS_GGUF=/path/to/model.gguf (or PERSONAS_GGUF_URL=https://...gguf)
  for the local llama.cpp server, or PERSONAS_LLM_URL / PERSONAS_LLM_MODEL for any
  OpenAI-compatible server (Ollama, vLLM, OpenAI), or edit llm in $CONFIG; then run this again.
  Ctrl-C stops the bridge and Synapse; state stays in $STATE.
================================================================================

EOF

wait "$BRIDGE_PID" || status=$?
BRIDGE_PID=""
[ -z "$LOG_VIEW_PID" ] || wait "$LOG_VIEW_PID" 2>/dev/null || true
die "the bridge stopped unexpectedly (exit ${status:-0}; log: $BRIDGE_LOG)"
