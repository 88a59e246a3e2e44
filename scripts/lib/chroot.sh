# Shared by scripts/synapse.sh and scripts/llama.sh: Debian sid chroots built by debootstrap,
# cached outside the repo (PERSONAS_CACHE_DIR, default ~/.cache/matrix-appservice-personas),
# and the helpers to build and delete them safely. Sourced, not run; callers set SCRIPT_NAME.

CACHE_DIR="${PERSONAS_CACHE_DIR:-${HOME:-/root}/.cache/matrix-appservice-personas}"
MIRROR="${PERSONAS_DEBIAN_MIRROR:-}"

log() { echo "${SCRIPT_NAME:-chroot}: $*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot and unshare need it)"
}

# A clean environment for anything run inside a chroot: the host's PYTHONPATH, pyenv
# shims or an unknown locale must not leak into Debian's Python.
# An array rather than a function so that a backgrounded "${CHROOT_ENV[@]}" cmd is exec'd
# straight away and $! is the real process, not a bash subshell.
CHROOT_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  LANG=C.UTF-8 LC_ALL=C.UTF-8 PYTHONUNBUFFERED=1)

# Mount points at or below $1, deepest first.
mounts_under() {
  awk -v p="$1" '$2 == p || index($2, p "/") == 1 { print $2 }' /proc/mounts | sort -r
}

# debootstrap mounts /proc (and more) inside its target while it works; killed hard, it
# leaves them behind, and rm -rf must never delete through a mount.
safe_rm_tree() {
  local m
  for m in $(mounts_under "$1"); do umount -l "$m" 2>/dev/null || true; done
  if [ -n "$(mounts_under "$1")" ]; then die "refusing to delete $1: something is still mounted under it"; fi
  rm -rf --one-file-system "$1"
}

# Locked, because two chroots may be built at once (jest's global setup builds both) and apt
# allows one installer at a time.
ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  mkdir -p "$CACHE_DIR"
  (
    flock 7
    command -v debootstrap >/dev/null 2>&1 && exit 0
    log "installing debootstrap"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >&2
  ) 7>"$CACHE_DIR/.apt.lock"
}

# debootstrap_sid TARGET BUILDLOG PACKAGES: a minimal sid with PACKAGES (comma-separated) in
# TARGET, which is deleted again when debootstrap fails.
debootstrap_sid() {
  local target="$1" buildlog="$2" packages="$3"
  ensure_debootstrap
  if ! debootstrap --variant=minbase --include="$packages" \
      sid "$target" ${MIRROR:+"$MIRROR"} >"$buildlog" 2>&1; then
    tail -n 30 "$buildlog" >&2
    safe_rm_tree "$target"
    die "debootstrap failed"
  fi
}

# Deletes leftovers of interrupted builds of ROOT (ROOT.tmp.*) and ROOT itself when it never
# got its ready marker.
clean_unfinished() {
  local root="$1" stale
  for stale in "$root".tmp.*; do
    if [ -e "$stale" ]; then safe_rm_tree "$stale"; fi
  done
  if [ -e "$root" ]; then
    log "removing unfinished chroot $root"
    safe_rm_tree "$root"
  fi
}

# Stops a server process: SIGTERM, then SIGKILL after $STOP_TIMEOUT seconds. Polls rather than
# wait(1): the process is not our child when an earlier invocation started it.
stop_pid() {
  local pid="$1" waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
      log "pid $pid ignored SIGTERM for $STOP_TIMEOUT s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
