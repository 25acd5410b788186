#!/usr/bin/env bash
# The published merge entry point, now `videokr merge`.
#   bash scripts/merge_videokr_checkpoint.sh CHECKPOINT_DIR [TARGET_DIR]
# CHECKPOINT_DIR is .../checkpoints/global_step_N/actor (or its global_step_N, or the checkpoints folder: the
# latest step is taken). TARGET_DIR defaults to CHECKPOINT_DIR/huggingface as published. DRY_RUN=1 prints only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

checkpoint="${1:-${CHECKPOINT_DIR:-}}"
if [[ -z "$checkpoint" ]]; then
  echo "Usage: $0 CHECKPOINT_DIR [TARGET_DIR]" >&2
  exit 1
fi
checkpoint="${checkpoint%/}"
target="${2:-${TARGET_DIR:-${checkpoint}/huggingface}}"
source_dir="$checkpoint"
[[ "$(basename "$checkpoint")" == actor ]] && source_dir="$(dirname "$checkpoint")"

exec "$VIDEOKR_BIN" merge "$source_dir" --out "$target" "${DRY_RUN_FLAG[@]}"
