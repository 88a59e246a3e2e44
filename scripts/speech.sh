#!/usr/bin/env bash
# Debian's speech tools for the local stack and the end-to-end tests, with no Docker, no PyPI
# and no model download: espeak-ng (text to speech), opus-tools (Ogg/Opus encoding and
# decoding) and pocketsphinx with its US English model (speech to text: the one recogniser
# whose model Debian ships). They are added to the llama.cpp chroot (scripts/llama.sh) rather
# than a chroot of their own: on top of it they cost ~50 s to install, a chroot of their own
# another debootstrap (several minutes on the CI machine).
#
#   scripts/speech.sh build             installs them once (quick when they are there)
#   scripts/speech.sh run CMD [ARGS...] runs CMD inside the chroot, stdin/stdout passed through
#
# tools/speech/ serves these tools as an OpenAI-compatible speech endpoint; tests make voice
# messages with them. Needs root (debootstrap, chroot). Environment: see scripts/llama.sh.
set -euo pipefail

SCRIPT_NAME=speech.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/chroot.sh
source "$HERE/lib/chroot.sh"
ROOT="$CACHE_DIR/llama-root"
# Written once the tools proved they run; the llama chroot rebuilt from scratch lacks it.
MARKER=".personas-speech-ready"
PACKAGES=(espeak-ng opus-tools pocketsphinx pocketsphinx-en-us)

is_built() { [ -f "$ROOT/$MARKER" ] && [ -f "$ROOT/.personas-llama-ready" ]; }

cmd_build() {
  need_root
  is_built && return 0
  bash "$HERE/llama.sh" build quiet
  # The llama chroot's build lock: nothing rebuilds it while packages go in.
  exec 9>"$CACHE_DIR/.llama-build.lock"
  flock 9
  if ! is_built; then
    local buildlog="$CACHE_DIR/speech-build.log" t0=$SECONDS
    log "installing ${PACKAGES[*]} into $ROOT; log: $buildlog"
    # The snapshot mirror's Release file may be past its Valid-Until: the packages are still right.
    if ! "${CHROOT_ENV[@]}" DEBIAN_FRONTEND=noninteractive chroot "$ROOT" sh -c \
          'apt-get -o Acquire::Check-Valid-Until=false update && apt-get install -y --no-install-recommends "$@" && apt-get clean' \
          sh "${PACKAGES[@]}" >"$buildlog" 2>&1 \
        || ! "${CHROOT_ENV[@]}" chroot "$ROOT" sh -c 'espeak-ng --version && command -v opusenc && command -v opusdec && command -v pocketsphinx' >>"$buildlog" 2>&1; then
      tail -n 30 "$buildlog" >&2
      die "installing the speech tools failed"
    fi
    "${CHROOT_ENV[@]}" chroot "$ROOT" espeak-ng --version | head -n 1 >"$ROOT/$MARKER"
    log "speech tools ready in $ROOT ($((SECONDS - t0)) s)"
  fi
  exec 9>&-
}

cmd_run() {
  [ $# -gt 0 ] || die "run needs a command"
  cmd_build
  exec "${CHROOT_ENV[@]}" chroot "$ROOT" "$@"
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  run) shift; cmd_run "$@" ;;
  *) die "usage: $0 build | run CMD [ARGS...]" ;;
esac
