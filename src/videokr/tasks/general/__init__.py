"""The paper's general benchmarks as lmms-eval tasks named `videokr_*`, with videokr's think/answer prompt."""
