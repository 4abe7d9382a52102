# Shared by scripts/run and scripts/test: a project virtualenv kept in step with a requirements file.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    log "need root to run: $*  (run it yourself, then try again)"; return 1; fi
}

apt_install() {
  # apt_install PKG...: install Debian packages that are missing (one apt-get update first).
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_python() {
  # Python 3.11 or newer, with the venv module able to install pip: Debian ships that part (ensurepip)
  # in python3-venv, apart from python3 itself, so a machine with only Debian and Python gets it here.
  command -v python3 >/dev/null 2>&1 || apt_install python3
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log "Python 3.11 or newer is needed; $(command -v python3) is $(python3 --version 2>&1)"
    return 1
  fi
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 && return 0
  apt_install python3-venv
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || {
    log "$(command -v python3) cannot create a virtualenv with pip (no ensurepip); install its venv package"
    return 1
  }
}

ensure_venv() {
  # ensure_venv REQUIREMENTS_FILE: create .venv if needed and install the file when it changed.
  local req="$ROOT/$1" stamp
  if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    log "removing $VENV: it has no pip (an earlier attempt without python3-venv?)"
    rm -rf "$VENV"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    ensure_python
    log "creating virtualenv in $VENV"
    python3 -m venv "$VENV"
  fi
  stamp="$VENV/.stamp-$(basename "$req")"
  local want
  want="$(cat "$ROOT/requirements.txt" "$req" | sha256sum | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python packages from $(basename "$req")"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
  fi
}
