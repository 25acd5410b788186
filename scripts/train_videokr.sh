#!/usr/bin/env bash
# The published SFT entry point, now `videokr train sft <family recipe>`.
#   bash scripts/train_videokr.sh {qwen2_5vl|qwen3vl} [key=value ...]
# Published environment variables: MODEL_NAME_OR_PATH, DATASET_DIR (default data), OUTPUT_DIR (default
# saves/videokr/<family>_sft), REPORT_TO (default none); NNODES / NODE_RANK / MASTER_ADDR / MASTER_PORT for
# multi-node. Extra arguments are recipe overrides (sft.learning_rate=2e-5). DRY_RUN=1 prints the launch only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

family="${1:-qwen2_5vl}"
[[ $# -gt 0 ]] && shift
recipe="$(recipe_for "$family")" || { echo "Usage: $0 {qwen2_5vl|qwen3vl}" >&2; exit 2; }

args=(
  "sft.dataset_dir=${DATASET_DIR:-data}"
  "sft.output_dir=${OUTPUT_DIR:-saves/videokr/${recipe}_sft}"
  "sft.report_to=${REPORT_TO:-none}"
)
[[ -n "${MODEL_NAME_OR_PATH:-}" ]] && args+=("model.path=${MODEL_NAME_OR_PATH}")
[[ -n "${NNODES:-}" ]] && args+=("sft.distributed.nnodes=${NNODES}")
[[ -n "${NODE_RANK:-}" ]] && args+=("sft.distributed.node_rank=${NODE_RANK}")
[[ -n "${MASTER_ADDR:-}" ]] && args+=("sft.distributed.master_addr=${MASTER_ADDR}")
[[ -n "${MASTER_PORT:-}" ]] && args+=("sft.distributed.master_port=${MASTER_PORT}")

exec "$VIDEOKR_BIN" train sft "${RECIPE:-$recipe}" "${args[@]}" "$@" "${DRY_RUN_FLAG[@]}"
