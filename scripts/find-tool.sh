#!/usr/bin/env bash
# Prints the path of a program `make test` needs, finding it the same way on every machine:
#   scripts/find-tool.sh chromium|pgbouncer [--install]
# Order: CHROMIUM_PATH / PGBOUNCER_PATH, the program on PATH, the usual Linux and macOS locations;
# with --install, Debian's package where apt-get exists (sudo when not root). Otherwise one line on
# stderr saying what to install, and exit 1: the docs and pooler tests are never skipped silently.
set -euo pipefail
tool="${1:?usage: scripts/find-tool.sh chromium|pgbouncer [--install]}"
install="${2:-}"

case "$tool" in
  chromium)
    override="${CHROMIUM_PATH:-}"
    names=(chromium chromium-browser google-chrome google-chrome-stable chrome)
    places=(/usr/bin/chromium /usr/bin/chromium-browser /snap/bin/chromium /usr/bin/google-chrome
      "/Applications/Chromium.app/Contents/MacOS/Chromium"
      "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")
    package=chromium
    advice="make test needs Chrome or Chromium for the docs-portal test: install one (macOS: brew install --cask chromium) or set CHROMIUM_PATH to its executable"
    ;;
  pgbouncer)
    override="${PGBOUNCER_PATH:-}"
    names=(pgbouncer)
    places=(/usr/sbin/pgbouncer /usr/bin/pgbouncer /usr/local/bin/pgbouncer /opt/homebrew/bin/pgbouncer)
    package=pgbouncer
    advice="make test needs PgBouncer for the connection-pooler tests: install it (macOS: brew install pgbouncer; Debian/Ubuntu: apt-get install pgbouncer) or set PGBOUNCER_PATH to its executable"
    ;;
  *) echo "scripts/find-tool.sh: unknown tool $tool" >&2; exit 2 ;;
esac

find_it() {
  if [ -n "$override" ]; then
    [ -x "$override" ] && { echo "$override"; return 0; }
    echo "${tool^^}_PATH=$override is not an executable file" >&2
    exit 1
  fi
  for name in "${names[@]}"; do
    if found="$(command -v "$name" 2>/dev/null)"; then echo "$found"; return 0; fi
  done
  for place in "${places[@]}"; do
    [ -x "$place" ] && { echo "$place"; return 0; }
  done
  return 1
}

find_it && exit 0
if [ "$install" = --install ] && command -v apt-get >/dev/null 2>&1; then
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  echo "installing Debian's $package (apt-get)..." >&2
  $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package" >&2
  find_it && exit 0
fi
echo "$advice" >&2
exit 1
