#!/usr/bin/env bash
# One point of the scale curve: profile_build.py on DIR, with the machine's load before and after and
# the largest size reached by DuckDB's spill folder (sampled every second).
#
#   benchmarks/scale_run.sh DIR [profile_build.py options, e.g. --threads 2 --engine spark]
#
# DuckDB spills into a private folder that cohortstat makes in the system's temporary directory;
# this script points TMPDIR at a fresh folder of its own so that only this build's spill is counted.
set -euo pipefail
data=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scale-run-XXXXXX")
max_file=$tmp.max
echo 0 > "$max_file"
(
  max=0
  while :; do
    size=$(du -sb "$tmp" 2>/dev/null | cut -f1)
    if [ "${size:-0}" -gt "$max" ]; then max=$size; echo "$max" > "$max_file"; fi
    sleep 1
  done
) &
sampler=$!
echo "uptime before: $(uptime)"
status=0
TMPDIR=$tmp "$python" "$here/profile_build.py" --data "$data" "$@" || status=$?
echo "uptime after: $(uptime)"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
echo "spill folder max bytes: $(cat "$max_file")"
rm -rf "$tmp" "$max_file"
exit $status
