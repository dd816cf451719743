#!/bin/sh
# ranklab's container entry points: `trainer` (the daemon, default), `scorer`, or any
# `ranklab-trainer` command (e.g. `prepare`, `reward train ...`).
set -eu
cd /app
case "${1:-trainer}" in
  trainer) exec npx tsx services/gpu-trainer/src/daemon/main.ts ;;
  scorer) exec npx tsx services/gpu-trainer/src/serve/main.ts ;;
  *) exec npx tsx services/gpu-trainer/src/cli/main.ts "$@" ;;
esac
