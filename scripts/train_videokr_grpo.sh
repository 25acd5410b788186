#!/usr/bin/env bash
# The published GRPO entry point, now `videokr train grpo <family recipe>`.
#   MODEL_PATH=/path/to/sft-checkpoint N_GPUS=8 bash scripts/train_videokr_grpo.sh [key=value ...]
# Published environment variables: MODEL_PATH (required), DATA_DIR (default data/videokr_rl), N_GPUS /
# N_GPUS_PER_NODE, NNODES, OUTPUT_DIR (default outputs/$PROJECT_NAME/$EXPERIMENT_NAME), PROJECT_NAME,
# EXPERIMENT_NAME, TRAIN_BATCH_SIZE, MAX_PROMPT_LENGTH, MAX_RESPONSE_LENGTH, ROLLOUT_N, ROLLOUT_TP,
# ROLLOUT_GPU_MEM_UTIL, AGENT_NUM_WORKERS, PPO_MINI_BATCH_SIZE, PPO_MICRO_BATCH_SIZE_PER_GPU, LR, KL_LOSS_COEF,
# SAVE_FREQ, TEST_FREQ, TOTAL_EPOCHS; RAY_ADDRESS joins an existing Ray cluster. The family (and so the recipe)
# comes from MODEL_FAMILY, else from "qwen3" in MODEL_PATH as the published script guessed. DRY_RUN=1 prints only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

if [[ -z "${MODEL_PATH:-}" ]]; then
  echo "MODEL_PATH is required, e.g. MODEL_PATH=saves/videokr/qwen2_5vl_sft" >&2
  exit 1
fi
lower="$(printf '%s' "$MODEL_PATH" | tr '[:upper:]' '[:lower:]')"
default_family=qwen2_5vl
[[ "$lower" == *qwen3* && "$lower" == *vl* ]] && default_family=qwen3vl
recipe="$(recipe_for "${MODEL_FAMILY:-$default_family}")" || { echo "MODEL_FAMILY must be qwen2_5vl or qwen3vl" >&2; exit 2; }

project="${PROJECT_NAME:-videokr_grpo}"
experiment="${EXPERIMENT_NAME:-videokr_qwen_vl}"
output="${OUTPUT_DIR:-outputs/${project}/${experiment}}"
args=(
  "grpo.model_path=${MODEL_PATH}"
  "grpo.data_dir=${DATA_DIR:-data/videokr_rl}"
  "grpo.output_dir=${output}/checkpoints"
  "grpo.project_name=${project}"
  "grpo.experiment_name=${experiment}"
  "grpo.cluster.nnodes=${NNODES:-1}"
)
gpus="${N_GPUS_PER_NODE:-${N_GPUS:-}}"
# Naming a GPU count, as the published script always did, asks for the GPU launch.
[[ -n "$gpus" ]] && args+=("grpo.cluster.n_gpus_per_node=${gpus}" "grpo.device=gpu")
[[ -n "${RAY_ADDRESS:-}" ]] && args+=("grpo.cluster.ray_address=${RAY_ADDRESS}")
declare -A FIELDS=(
  [TRAIN_BATCH_SIZE]=train_batch_size [MAX_PROMPT_LENGTH]=max_prompt_length
  [MAX_RESPONSE_LENGTH]=max_response_length [ROLLOUT_N]=rollout_n [ROLLOUT_TP]=tensor_model_parallel_size
  [ROLLOUT_GPU_MEM_UTIL]=gpu_memory_utilization [AGENT_NUM_WORKERS]=agent_num_workers
  [PPO_MINI_BATCH_SIZE]=ppo_mini_batch_size [PPO_MICRO_BATCH_SIZE_PER_GPU]=ppo_micro_batch_size_per_gpu
  [LOGPROB_MICRO_BATCH_SIZE_PER_GPU]=log_prob_micro_batch_size_per_gpu [LR]=lr [KL_LOSS_COEF]=kl_loss_coef
  [SAVE_FREQ]=save_freq [TEST_FREQ]=test_freq [TOTAL_EPOCHS]=total_epochs
)
for var in $(printf '%s\n' "${!FIELDS[@]}" | sort); do
  [[ -n "${!var:-}" ]] && args+=("grpo.${FIELDS[$var]}=${!var}")
done

exec "$VIDEOKR_BIN" train grpo "${RECIPE:-$recipe}" "${args[@]}" "$@" "${DRY_RUN_FLAG[@]}"
