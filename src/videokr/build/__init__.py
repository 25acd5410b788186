"""`videokr build`: the VideoKR corpus-construction pipeline (PROTOCOL.md, issue 15), for any domain.

A knowledge bank, seed examples and a video source go through the stages of `stages.py` on the same run graph as
`videokr run` (manifest, fingerprints, resume): bank -> scenarios -> collect -> relevance -> generate -> qc ->
[decontaminate] -> split -> report. Every model call goes through `client.py` (any OpenAI-compatible endpoint,
structured output validated against a JSON schema, a cache keyed by model, prompt version and input digest, a
ledger with a budget cap); people review samples per step and model (`review.py`) and `select` picks the model
that meets the bar. `demo.py` writes the flame-test inputs that run offline with the built-in `template` models.
"""
