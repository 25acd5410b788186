#!/usr/bin/env bash
# The published merge entry point, now `videokr merge RECIPE merge.checkpoint_dir=... merge.target_dir=...`.
#   bash scripts/merge_videokr_checkpoint.sh CHECKPOINT_DIR [TARGET_DIR]
# CHECKPOINT_DIR is .../checkpoints/global_step_N/actor (or its global_step_N, or the checkpoints folder: the
# latest step is taken). TARGET_DIR defaults to CHECKPOINT_DIR/huggingface as published. The run directory (its
# manifest and merge/command.sh) is the folder holding checkpoints/, as train_videokr_grpo.sh lays it out; the
# merge does not depend on the model family, so the recipe is qwen2_5vl unless RECIPE names another. DRY_RUN=1
# prints only.
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

checkpoints="$source_dir"
[[ "$(basename "$source_dir")" == global_step_* ]] && checkpoints="$(dirname "$source_dir")"
run_dir="$(dirname "$checkpoints")"

exec "$VIDEOKR_BIN" merge "${RECIPE:-qwen2_5vl}" "output_dir=${run_dir}" "merge.checkpoint_dir=${source_dir}" \
  "merge.target_dir=${target}" "${DRY_RUN_FLAG[@]}"
