"""The prompt protocol of PROTOCOL.md section 3 (published strings, used verbatim)."""

INSTR = (
    "Please answer this question based on the visual content.\n"
    "Provide your thinking process between the <think> and </think> tags, "
    "and then give your final answer between the <answer> and </answer> tags.\n"
)
MC_TAIL = "Please provide only the single option letter (e.g., A, B, C, D, etc.) within the <answer>...</answer> tags."
OE_TAIL = "Please provide only your final answer within the <answer>...</answer> tags."
