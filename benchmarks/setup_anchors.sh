#!/usr/bin/env bash
# nbgrader and Otter-Grader, for benchmarks/side_by_side.py, in a venv of their own (the versions
# the anchor bench measured: ../shared/anchor-bench/BASELINE.md).
#   benchmarks/setup_anchors.sh [VENV]     default: benchmarks/.anchors-venv
set -euo pipefail
VENV="${1:-$(cd "$(dirname "$0")" && pwd)/.anchors-venv}"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "otter-grader[grading]==7.0.0" nbgrader==0.9.6 \
  ipykernel nbclient nbconvert numpy pytest psutil
"$VENV/bin/nbgrader" --version
"$VENV/bin/otter" --version | tail -n +11 | head -3
echo "ready: $VENV (side_by_side.py finds it there, or set ANCHORS_VENV)"
