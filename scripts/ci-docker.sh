#!/usr/bin/env bash
# Make this machine able to run the Docker tests (`pytest -m docker`), registry-free:
#   1. the Docker engine installed and running (scripts/docker-engine.sh: docker.io, dockerd)
#   2. debootstrap installed (apt) if missing
#   3. the offline base image (debootstrap bookworm + docker import), unless present
#   4. the runtime image (`grade image build --offline`), unless its tag exists, and the image
#      extension of the web-app assignment detection_ui (`--assignment detection_ui`)
# Idempotent: a second run takes a few seconds. Cold: about 4 minutes (see docs/docker.md).
#   env: IMAGE_MODE=offline (default) | online   (online: python:3.11-slim from a registry)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${IMAGE_MODE:-offline}
sudo=""
[[ $(id -u) == 0 ]] || sudo="sudo"
step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

step "engine"
scripts/docker-engine.sh

step "packages"
[[ $mode == online ]] || command -v debootstrap >/dev/null || {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends debootstrap
}

if command -v grade >/dev/null && grade image --help >/dev/null 2>&1; then
    grade=(grade)
else
    grade=("${PYTHON:-python3}" -m grader.cli)  # the Python that has the grader (PYTHON, as scripts/install)
fi

if [[ $mode == offline ]]; then
    step "offline base image"
    $sudo grader/sandbox/docker/recipe/build-offline-base.sh
    step "runtime image (and the web-app assignments' extensions)"
    "${grade[@]}" image build --offline --assignment detection_ui
else
    step "runtime image (and the web-app assignments' extensions)"
    "${grade[@]}" image build --assignment detection_ui
fi

step "doctor"
"${grade[@]}" doctor
step "done"
