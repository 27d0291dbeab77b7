#!/usr/bin/env bash
# Debian packages the test suite and the benchmark use: Chromium for the browser tests (never a
# downloaded browser), ffmpeg to make fake camera videos, a CJK font, wrk for load.
# Installs what is missing when run as root; otherwise says what to install.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v wrk >/dev/null || need+=(wrk)
fc-list 2>/dev/null | grep -qi "wenquanyi zen hei" || need+=(fonts-wqy-zenhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${need[*]}. Install them: sudo apt-get install ${need[*]}" >&2
  exit 0  # the tests that need them skip (and .ci/run fails on skipped browser tests)
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
