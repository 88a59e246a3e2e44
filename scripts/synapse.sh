#!/usr/bin/env bash
# A real Synapse for end-to-end tests and the local stack, with no Docker and no PyPI.
#
# Synapse comes from Debian sid (the only place this project can get a current one from),
# installed by debootstrap into a chroot that is cached outside the repo and built once.
# Each instance keeps all its state (config, sqlite DB, media, logs, pid) in a data dir on
# the host; Synapse sees that dir as /instance through a bind mount made inside a private
# mount namespace (unshare), so the mount lives exactly as long as the Synapse process and
# can never leak into the host's mount table or into the cached chroot.
#
#   scripts/synapse.sh build
#   scripts/synapse.sh start    --data DIR --port PORT [--server-name NAME] [--registration FILE]... [--extra-config FILE]
#                               [--debug-logger NAME]...
#   scripts/synapse.sh stop     --data DIR
#   scripts/synapse.sh status   --data DIR
#   scripts/synapse.sh register --data DIR --port PORT USER PASSWORD [--admin]
#
# start builds the chroot first if needed, rewrites DIR/homeserver.yaml (registrations are
# read only at start: restart to add one), and returns once the client API answers; on a DIR
# whose Synapse is already running it just says so. --extra-config FILE is YAML appended to
# the generated config, so its keys override ours. register prints the MXID (also when the
# user already exists). --debug-logger NAME logs that Synapse logger at DEBUG (the benchmark's
# synapse.http.client: when each appservice transaction was pushed). Files a caller may read in DIR: shared_secret, server_name, port,
# synapse.pid, homeserver.log, synapse.stdout.log (Python's own stderr).
# To pick up a newer Synapse, delete the cache dir and build again.
#
# Needs root (debootstrap, chroot, unshare), and curl. Environment:
#   PERSONAS_CACHE_DIR             cache root (default ~/.cache/matrix-appservice-personas)
#   PERSONAS_DEBIAN_MIRROR         debootstrap mirror (default: debootstrap's own)
#   PERSONAS_SYNAPSE_START_TIMEOUT seconds to wait for the client API (default 120)
set -euo pipefail

SCRIPT_NAME=synapse.sh
# shellcheck source=lib/chroot.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/chroot.sh"
ROOT="$CACHE_DIR/synapse-root"
# Written last, after the chroot proved it can import Synapse: a root without it is never used.
MARKER=".personas-synapse-ready"
START_TIMEOUT="${PERSONAS_SYNAPSE_START_TIMEOUT:-120}"
STOP_TIMEOUT=15
# Where the data dir appears inside the chroot.
INST=/instance

is_built() { [ -f "$ROOT/$MARKER" ]; }

cmd_build() {
  need_root
  mkdir -p "$CACHE_DIR"
  # Serialise concurrent builds (say jest's global setup and a local-stack script at once).
  # The lock fd is closed again afterwards so that a Synapse started later by this same
  # script does not inherit it and hold the lock for its whole life.
  exec 9>"$CACHE_DIR/.build.lock"
  flock 9
  build_locked "$@"
  exec 9>&-
}

build_locked() {
  if is_built; then
    [ "${1:-}" = quiet ] || log "chroot ready at $ROOT ($(cat "$ROOT/$MARKER"))"
    return 0
  fi
  clean_unfinished "$ROOT"

  local tmp="$CACHE_DIR/synapse-root.tmp.$$" buildlog="$CACHE_DIR/build.log" t0=$SECONDS
  log "building the Synapse chroot (Debian sid, 1-3 min); log: $buildlog"
  # python3-cffi-backend: PyNaCl and cryptography (needed by Synapse at import) depend on it
  # only through virtual packages (python3-cffi-backend-api-*), which debootstrap's simple
  # resolver does not follow, so it has to be named.
  debootstrap_sid "$tmp" "$buildlog" matrix-synapse,python3-cffi-backend
  local version
  if ! version="$("${CHROOT_ENV[@]}" chroot "$tmp" python3 -c 'import synapse; print(synapse.__version__)' 2>>"$buildlog")"; then
    tail -n 30 "$buildlog" >&2
    safe_rm_tree "$tmp"
    die "Synapse does not import inside the new chroot"
  fi
  "${CHROOT_ENV[@]}" chroot "$tmp" apt-get clean >>"$buildlog" 2>&1 || true
  mkdir -p "$tmp$INST"
  echo "synapse $version, built $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/$MARKER"
  mv -T "$tmp" "$ROOT"
  log "chroot ready at $ROOT (synapse $version, $((SECONDS - t0)) s)"
}

# ---- argument parsing shared by start/stop/status/register --------------------------------
DATA="" PORT="" SERVER_NAME="localhost" EXTRA_CONFIG="" ADMIN=0
REGISTRATIONS=() DEBUG_LOGGERS=() POSITIONAL=()
parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --data) DATA="${2:?--data needs a value}"; shift 2 ;;
      --port) PORT="${2:?--port needs a value}"; shift 2 ;;
      --server-name) SERVER_NAME="${2:?--server-name needs a value}"; shift 2 ;;
      --registration) REGISTRATIONS+=("${2:?--registration needs a value}"); shift 2 ;;
      --extra-config) EXTRA_CONFIG="${2:?--extra-config needs a value}"; shift 2 ;;
      --debug-logger) DEBUG_LOGGERS+=("${2:?--debug-logger needs a value}"); shift 2 ;;
      --admin) ADMIN=1; shift ;;
      --) shift; POSITIONAL+=("$@"); break ;;
      -*) die "unknown option $1" ;;
      *) POSITIONAL+=("$1"); shift ;;
    esac
  done
  [ -n "$DATA" ] || die "--data DIR is required"
  DATA="$(realpath -m -- "$DATA")"
  if [ -n "$PORT" ]; then
    [[ "$PORT" =~ ^[0-9]+$ ]] || die "--port must be a number"
  fi
}
need_port() { [ -n "$PORT" ] || die "--port PORT is required"; }

# One start/stop at a time per data dir, so two callers cannot launch two Synapses on it.
lock_data_dir() {
  mkdir -p "$DATA"
  exec 8>"$DATA/.lock"
  flock 8
}

# Pid of this data dir's running Synapse, or nothing. Checks the command line too, so a
# stale pid file whose pid was reused by something else is not mistaken for Synapse.
running_pid() {
  local pid
  [ -f "$DATA/synapse.pid" ] || return 0
  pid="$(cat "$DATA/synapse.pid")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] \
      && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'synapse.app.homeserver'; then
    echo "$pid"
  fi
}

versions_ok() {
  curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/_matrix/client/versions" 2>/dev/null
}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# Secrets persist across restarts of the same data dir, so that tokens and the callers' copy
# of the shared secret stay valid.
ensure_secret() {
  [ -s "$1" ] || { random_hex 32 >"$1"; chmod 600 "$1"; }
  cat "$1"
}

print_log_tail() {
  local f
  for f in "$DATA/synapse.stdout.log" "$DATA/homeserver.log"; do
    [ -s "$f" ] || continue
    echo "----- tail of $f -----" >&2
    tail -n 40 "$f" >&2
  done
}

write_config() {
  local shared macaroon form reg i=0 dest
  shared="$(ensure_secret "$DATA/shared_secret")"
  macaroon="$(ensure_secret "$DATA/.macaroon_secret")"
  form="$(ensure_secret "$DATA/.form_secret")"

  # The format Synapse's own --generate-keys writes: "ed25519 <version> <unpadded base64 seed>".
  if [ ! -s "$DATA/signing.key" ]; then
    printf 'ed25519 a_%s %s\n' "$(random_hex 2)" \
      "$(head -c 32 /dev/urandom | base64 | tr -d '=\n')" >"$DATA/signing.key"
    chmod 600 "$DATA/signing.key"
  fi

  # Registrations are copied into the data dir so Synapse can read them whatever host path
  # they came from; the set is rebuilt on every start.
  rm -rf "$DATA/appservices"
  mkdir -p "$DATA/appservices" "$DATA/media_store"
  local as_list=""
  for reg in ${REGISTRATIONS[@]+"${REGISTRATIONS[@]}"}; do
    [ -f "$reg" ] || die "registration file not found: $reg"
    i=$((i + 1))
    # Numbered (two files may share a basename) and tamed for the YAML list below.
    dest="$(printf '%02d-%s' "$i" "$(basename "$reg" | tr -c 'A-Za-z0-9._\n-' '_')")"
    cp -- "$reg" "$DATA/appservices/$dest"
    as_list+=$'\n'"  - \"$INST/appservices/$dest\""
  done
  [ -n "$as_list" ] || as_list=" []"

  cat >"$DATA/log.config" <<EOF
# Plain, unbuffered file logging: Synapse's default buffers INFO lines for up to 5 s,
# which hides the last lines of a failed start.
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: $INST/homeserver.log
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: INFO
$(for name in ${DEBUG_LOGGERS[@]+"${DEBUG_LOGGERS[@]}"}; do printf '  %s:\n    level: DEBUG\n' "$name"; done)
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
EOF

  # Every rate limit a test can trip, raised far out of reach: tests create rooms, join,
  # invite and send in tight loops from one address.
  local rl='{per_second: 100000, burst_count: 1000000}'
  cat >"$DATA/homeserver.yaml" <<EOF
# Generated by scripts/synapse.sh on every start; edits are lost. Paths are as Synapse
# sees them inside its chroot, where this data dir is mounted at $INST.
server_name: "$SERVER_NAME"
public_baseurl: "http://127.0.0.1:$PORT/"
report_stats: false
listeners:
  - port: $PORT
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: $INST/homeserver.db
log_config: $INST/log.config
media_store_path: $INST/media_store
# 256M: the media tests upload a 200 MB image the bridge must refuse without reading it.
max_upload_size: 256M
url_preview_enabled: false
signing_key_path: $INST/signing.key
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
enable_metrics: false
presence:
  enabled: false
enable_registration: false
registration_shared_secret: "$shared"
macaroon_secret_key: "$macaroon"
form_secret: "$form"
app_service_config_files:$as_list

# End-to-end encryption for appservice users (the bridge's encryption.enabled, see
# docs/admin-guide.md "Encrypted rooms"): to-device messages (room keys) in appservice
# transactions (MSC2409/MSC4203), and device list changes plus one-time key counts there
# (MSC3202). Device masquerading and appservice device management are stable in this Synapse.
experimental_features:
  msc2409_to_device_messages_enabled: true
  msc3202_transaction_extensions: true

rc_message: $rl
rc_registration: $rl
rc_registration_token_validity: $rl
rc_login:
  address: $rl
  account: $rl
  failed_attempts: $rl
rc_admin_redaction: $rl
rc_joins:
  local: $rl
  remote: $rl
rc_joins_per_room: $rl
rc_key_requests: $rl
rc_3pid_validation: $rl
rc_invites:
  per_room: $rl
  per_user: $rl
  per_issuer: $rl
rc_third_party_invite: $rl
rc_media_create: $rl
rc_presence:
  per_user: $rl
rc_delayed_event_mgmt: $rl
rc_room_creation: $rl
rc_reports: $rl
rc_user_directory: $rl
EOF
  if [ -n "$EXTRA_CONFIG" ]; then
    [ -f "$EXTRA_CONFIG" ] || die "extra config not found: $EXTRA_CONFIG"
    # PyYAML keeps the last of duplicate keys, so these override the defaults above.
    { echo; echo "# --- from $EXTRA_CONFIG ---"; cat -- "$EXTRA_CONFIG"; } >>"$DATA/homeserver.yaml"
  fi
  echo "$SERVER_NAME" >"$DATA/server_name"
  echo "$PORT" >"$DATA/port"
}

cmd_start() {
  need_root
  parse_args "$@"
  need_port
  command -v curl >/dev/null 2>&1 || die "curl is needed to wait for Synapse"
  lock_data_dir
  local pid
  pid="$(running_pid)"
  if [ -n "$pid" ]; then
    local running_port
    running_port="$(cat "$DATA/port" 2>/dev/null || echo '?')"
    log "already running for $DATA (pid $pid, port $running_port); reusing it"
    [ "$running_port" = "$PORT" ] || log "warning: it listens on port $running_port, not $PORT"
    return 0
  fi
  rm -f "$DATA/synapse.pid"
  if versions_ok "$PORT"; then
    die "port $PORT already serves a Matrix client API that is not this data dir's Synapse"
  fi
  cmd_build quiet
  write_config
  : >"$DATA/synapse.stdout.log"

  # unshare without --fork execs sh, which execs chroot, which execs python: $! is Synapse's
  # own pid. The bind mount exists only in the new namespace and goes away with the process.
  # stdio goes to a file so the caller (a jest setup awaiting this script) is not kept waiting
  # on pipes that Synapse would otherwise hold open; the lock fd is closed for the same reason.
  # shellcheck disable=SC2016 # expanded by the inner sh, from its own arguments
  "${CHROOT_ENV[@]}" unshare --mount --propagation private -- /bin/sh -c '
      mount --bind "$1" "$2$3" && exec chroot "$2" python3 -m synapse.app.homeserver --config-path "$3/homeserver.yaml"
    ' synapse "$DATA" "$ROOT" "$INST" \
    </dev/null >>"$DATA/synapse.stdout.log" 2>&1 8>&- &
  pid=$!
  echo "$pid" >"$DATA/synapse.pid"

  local t0=$SECONDS
  until versions_ok "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$DATA/synapse.pid"
      print_log_tail
      die "Synapse exited during startup"
    fi
    if [ $((SECONDS - t0)) -ge "$START_TIMEOUT" ]; then
      print_log_tail
      stop_pid "$pid"
      die "Synapse did not answer on port $PORT within $START_TIMEOUT s"
    fi
    sleep 0.2
  done
  log "Synapse up on http://127.0.0.1:$PORT (server name $SERVER_NAME, pid $pid, $((SECONDS - t0)) s)"
}


cmd_stop() {
  need_root
  parse_args "$@"
  [ -d "$DATA" ] || { log "no data dir $DATA; nothing to stop"; return 0; }
  lock_data_dir
  local pid
  pid="$(running_pid)"
  if [ -z "$pid" ]; then
    rm -f "$DATA/synapse.pid"
    log "not running for $DATA"
    return 0
  fi
  stop_pid "$pid"
  rm -f "$DATA/synapse.pid"
  log "stopped Synapse for $DATA (pid $pid)"
}

cmd_status() {
  parse_args "$@"
  local pid
  pid="$(running_pid)"
  if [ -n "$pid" ]; then
    echo "running pid=$pid port=$(cat "$DATA/port" 2>/dev/null || echo '?') server_name=$(cat "$DATA/server_name" 2>/dev/null || echo '?')"
  else
    echo "stopped"
    return 3
  fi
}

# Registration through the shared-secret admin API. Python for the HMAC and JSON: the host's
# python3 when there is one, else the chroot's (always there once Synapse is).
cmd_register() {
  parse_args "$@"
  need_port
  [ "${#POSITIONAL[@]}" -eq 2 ] || die "usage: register --data DIR --port PORT USER PASSWORD [--admin]"
  [ -s "$DATA/shared_secret" ] || die "no $DATA/shared_secret: start the instance first"
  local py=(python3)
  if ! command -v python3 >/dev/null 2>&1; then
    need_root
    py=("${CHROOT_ENV[@]}" chroot "$ROOT" python3)
  fi
  # Arguments travel in the environment rather than argv so the password stays out of ps.
  SYN_URL="http://127.0.0.1:$PORT" SYN_SECRET="$(cat "$DATA/shared_secret")" \
  SYN_USER="${POSITIONAL[0]}" SYN_PASSWORD="${POSITIONAL[1]}" SYN_ADMIN="$ADMIN" \
  SYN_SERVER_NAME="$(cat "$DATA/server_name" 2>/dev/null || echo localhost)" \
    "${py[@]}" -c '
import hashlib, hmac, json, os, sys, urllib.error, urllib.request
url, user, pw = os.environ["SYN_URL"], os.environ["SYN_USER"], os.environ["SYN_PASSWORD"]
admin = os.environ["SYN_ADMIN"] == "1"
endpoint = url + "/_synapse/admin/v1/register"
nonce = json.load(urllib.request.urlopen(endpoint, timeout=30))["nonce"]
mac = hmac.new(os.environ["SYN_SECRET"].encode(), digestmod=hashlib.sha1)
mac.update(b"\0".join([nonce.encode(), user.encode(), pw.encode(), b"admin" if admin else b"notadmin"]))
body = json.dumps({"nonce": nonce, "username": user, "password": pw, "admin": admin, "mac": mac.hexdigest()})
req = urllib.request.Request(endpoint, data=body.encode(), headers={"Content-Type": "application/json"})
try:
    print(json.load(urllib.request.urlopen(req, timeout=30))["user_id"])
except urllib.error.HTTPError as e:
    err = json.loads(e.read() or b"{}")
    if err.get("errcode") == "M_USER_IN_USE":
        print("synapse.sh: user %s already exists; left as it is" % user, file=sys.stderr)
        print("@%s:%s" % (user, os.environ["SYN_SERVER_NAME"]))
        sys.exit(0)
    sys.exit("synapse.sh: error: registration failed: HTTP %d %s" % (e.code, json.dumps(err)))
'
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
sub="$1"; shift
case "$sub" in
  build) cmd_build ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  register) cmd_register "$@" ;;
  -h|--help|help) usage ;;
  *) log "unknown command $sub"; usage ;;
esac
