#!/usr/bin/env bash
# The published evaluation entry point, now `videokr eval` (lmms-eval on vLLM with videokr's model on GPU).
#   VIDEOKR_MODEL=/path/to/checkpoint bash scripts/videokr_vllm.sh
# Published environment variables: VIDEOKR_MODEL (required), TASKS (default videokr_eval), BATCH_SIZE,
# TENSOR_PARALLEL_SIZE, DATA_PARALLEL_SIZE, GPU_MEMORY_UTILIZATION, MAX_MODEL_LEN, MAX_FRAME_NUM, MAX_PIXELS, FPS,
# LIMIT, RUN_NAME, OUTPUT_PATH (default outputs/videokr/<RUN_NAME>_vllm); the judge: API_TYPE=openai with
# OPENAI_API_KEY, OPENAI_BASE_URL and MODEL_VERSION (default gpt-4o). Without a key, multiple-choice rows are
# rule-scored and open-ended rows are skipped (and counted). New here: VIDEOKR_EVAL_DATA and VIDEOKR_VIDEO_ROOT
# name the local VideoKR_eval.jsonl and its videos. DRY_RUN=1 prints the lmms-eval launch only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

model="${VIDEOKR_MODEL:?Set VIDEOKR_MODEL to your fine-tuned VideoKR checkpoint or Hugging Face repo.}"
name="${RUN_NAME:-$(basename "$model")}"
name="${name//[^A-Za-z0-9._-]/_}"
args=(eval --model "$model" --tasks "${TASKS:-videokr_eval}" --output-dir "${OUTPUT_PATH:-outputs/videokr/${name}_vllm}")
[[ -n "${VIDEOKR_EVAL_DATA:-}" ]] && args+=(--data "$VIDEOKR_EVAL_DATA")
[[ -n "${VIDEOKR_VIDEO_ROOT:-}" ]] && args+=(--video-root "$VIDEOKR_VIDEO_ROOT")
[[ -n "${LIMIT:-}" ]] && args+=(--limit "$LIMIT")
if [[ "${API_TYPE:-}" == "openai" && -n "${OPENAI_API_KEY:-}" ]]; then
  args+=(--judge "openai:${MODEL_VERSION:-gpt-4o}")
fi
declare -A FIELDS=(
  [BATCH_SIZE]=batch_size [TENSOR_PARALLEL_SIZE]=tensor_parallel_size [DATA_PARALLEL_SIZE]=data_parallel_size
  [GPU_MEMORY_UTILIZATION]=gpu_memory_utilization [MAX_MODEL_LEN]=generation.max_model_len
  [MAX_FRAME_NUM]=generation.max_frames [MAX_PIXELS]=generation.max_pixels [FPS]=generation.fps
)
for var in $(printf '%s\n' "${!FIELDS[@]}" | sort); do
  [[ -n "${!var:-}" ]] && args+=(--set "${FIELDS[$var]}=${!var}")
done
# The published script is a GPU script: vLLM (videokr_vllm) unless the caller picks a device.
[[ -n "${VIDEOKR_DEVICE:-}" ]] && args+=(--device "$VIDEOKR_DEVICE") || args+=(--device gpu)

exec "$VIDEOKR_BIN" "${args[@]}" "${DRY_RUN_FLAG[@]}"
