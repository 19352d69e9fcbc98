#!/usr/bin/env bash
# Install the Docker engine where a fresh machine has none (Debian's docker.io, apt) and start
# it when none answers (dockerd in the background, log in /tmp/dockerd.log; needs root or sudo).
# Idempotent: with an engine running it only prints its version. Called by .ci/run and by
# scripts/ci-docker.sh (which then builds the images).
set -euo pipefail
sudo=""
[[ $(id -u) == 0 ]] || sudo="sudo"

if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends docker.io
fi
if ! docker info >/dev/null 2>&1; then
    echo "starting dockerd (log: /tmp/dockerd.log)"
    $sudo setsid sh -c 'nohup dockerd >>/tmp/dockerd.log 2>&1 &' </dev/null
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -20 /tmp/dockerd.log >&2; exit 1; }
fi
docker version --format 'engine {{.Server.Version}}'
