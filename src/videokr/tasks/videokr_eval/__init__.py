"""The `videokr_eval` lmms-eval task (VideoKR-Eval from a local jsonl)."""
