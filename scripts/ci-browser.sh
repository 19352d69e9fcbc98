#!/usr/bin/env bash
# The browser of the web-app checks (docs/services.md): Debian's chromium, installed when
# missing. Playwright's Python package (pip, extra "web") drives it with executable_path;
# `playwright install` is never run (no browser download). Idempotent; needs root or sudo.
set -euo pipefail
sudo=""
[[ $(id -u) == 0 ]] || sudo="sudo"
if ! command -v chromium >/dev/null; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
fi
chromium --version
