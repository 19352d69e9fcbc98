#!/usr/bin/env bash
# Make this machine able to run the Docker tests (`pytest -m docker`), registry-free:
#   1. docker.io + debootstrap installed (apt) if missing
#   2. a running Docker engine (starts dockerd when none answers; needs root)
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

step "packages"
missing=()
command -v docker >/dev/null || missing+=(docker.io)
command -v dockerd >/dev/null || missing+=(docker.io)
[[ $mode == online ]] || command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        $(printf '%s\n' "${missing[@]}" | sort -u)
fi

step "engine"
if ! docker info >/dev/null 2>&1; then
    echo "starting dockerd (log: /tmp/dockerd.log)"
    $sudo setsid sh -c 'nohup dockerd >>/tmp/dockerd.log 2>&1 &' </dev/null
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -20 /tmp/dockerd.log >&2; exit 1; }
fi
docker version --format 'engine {{.Server.Version}}'

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
