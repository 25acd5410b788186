# Shared by the wrappers: where videokr is, and how DRY_RUN=1 reaches the CLI.
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${VIDEOKR_BIN:-}" ]]; then
  if [[ -x "${SCRIPTS_DIR}/../.venv/bin/videokr" ]]; then
    VIDEOKR_BIN="${SCRIPTS_DIR}/../.venv/bin/videokr"
  else
    VIDEOKR_BIN="videokr"
  fi
fi
DRY_RUN_FLAG=()
if [[ "${DRY_RUN:-0}" == "1" ]]; then
  DRY_RUN_FLAG=(--dry-run)
fi

# recipe_for FAMILY: the recipe name of a published model-family argument.
recipe_for() {
  case "$1" in
    qwen2_5vl|qwen2.5vl|qwen2_5_vl) echo qwen2_5vl ;;
    qwen3vl|qwen3_vl) echo qwen3vl ;;
    *) return 1 ;;
  esac
}
