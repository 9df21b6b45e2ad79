#!/usr/bin/env bash
# The README's first line as a new user meets it: a fresh venv with the pip that comes with Python, an empty
# pip cache, an empty agentkit cache, no key and no server configured (so the demo runs on the local model).
# Prints the install time, the time until the demo's answer, and (with GNU time) each step's peak memory.
#
#   bash benchmarks/first_run.sh [WORKDIR]      # WORKDIR defaults to a new temporary folder
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
python3 -m venv "$work/venv"
export PIP_NO_CACHE_DIR=1 AGENTKIT_CACHE_DIR="$work/cache"
unset PYTHONPATH AGENTKIT_LOCAL_ENGINE AGENTKIT_LLAMA_SERVER OPENROUTER_API_KEY AGENTKIT_API_KEY \
    AGENTKIT_BASE_URL AGENTKIT_MODEL
# shellcheck disable=SC1091
. "$work/venv/bin/activate"
timed() {  # timed NAME COMMAND...: runs it, keeps its output in $work/NAME.log, prints wall time and peak RSS
    local name=$1 start end
    shift
    start=$(date +%s.%N)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.log" 2>&1
    else
        "$@" > "$work/$name.log" 2>&1
    fi
    end=$(date +%s.%N)
    printf '%-8s %6.1f s' "$name" "$(echo "$end - $start" | bc)"
    if [ -f "$work/$name.time" ]; then
        printf '   peak RSS %s MB' "$(awk '/Maximum resident/ {print int($6 / 1024)}' "$work/$name.time")"
    fi
    echo
}
echo "pip $(pip --version | cut -d' ' -f2), Python $(python --version | cut -d' ' -f2), $(nproc) cores, in $work"
timed install pip install -e ".[local]" -e tools/
timed demo python examples/demo.py
grep -E "^(Answer|Answered by|\[)" "$work/demo.log"
