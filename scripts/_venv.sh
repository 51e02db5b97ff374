# Sourced by scripts/run and scripts/test: a virtual environment with the pinned packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$1"
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-research.txt
export PATH="$PWD/.venv/bin:$PATH"
