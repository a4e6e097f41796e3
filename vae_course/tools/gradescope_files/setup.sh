#!/usr/bin/env bash
# Gradescope runs this once, as root and with a network, when it builds the autograder's
# image from the zip unpacked in /autograder/source. Written by `vae-course gradescope`
# (see vae_course/tools/gradescope.py); AUTOGRADER_ROOT stands for /autograder in tests.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
WHEEL="$ROOT/source/@WHEEL@"
export VAE_COURSE_DATA="${VAE_COURSE_DATA:-$ROOT/data}"
export VAE_COURSE_CACHE="${VAE_COURSE_CACHE:-$ROOT/cache}"
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2> /dev/null; }

# Python 3.11 or newer with venv, and bubblewrap for the grader's sandbox (which stays off,
# and says so in the debug output, where the container forbids namespaces).
if command -v apt-get > /dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv bubblewrap
    new_enough python3 || apt-get install -y -qq python3.11 python3.11-venv  # Ubuntu 22.04
fi
PYTHON=python3
new_enough "$PYTHON" || PYTHON=python3.11
new_enough "$PYTHON" || {
    echo "setup.sh: the course needs Python 3.11 or newer; choose a newer base image" \
         "(Ubuntu 24.04) in the assignment's autograder settings." >&2
    exit 1
}
"$PYTHON" -m venv "$ROOT/venv"
BIN="$ROOT/venv/bin"

# PyTorch's CPU-only wheels first: the default ones on PyPI bring CUDA, gigabytes that a
# grader never uses. Then the course and its other dependencies from PyPI.
"$BIN/pip" install --quiet --index-url https://download.pytorch.org/whl/cpu torch torchvision
"$BIN/pip" install --quiet "$WHEEL"

# The data, and the trained models the zip carries (models/, from the instructor's model
# cache) in the model cache, so that grading a submission never downloads or trains them.
"$BIN/vae-course" data
mkdir -p "$VAE_COURSE_CACHE"
if [ -d "$ROOT/source/models" ]; then cp "$ROOT/source/models/"*.pt "$VAE_COURSE_CACHE/"; fi
