"""Runs: the stage object, the graph of stages over a run directory and its manifest, the recipe's stages, the demo.

- `stage.py`: `Stage` (inputs, plan, check, run) and the `StageContext` it runs in.
- `graph.py`: `run_stages`, the manifest, fingerprints, skip-if-unchanged and resume.
- `inputs.py`: where each recipe stage reads and writes, one rule per path (and the GRPO starting model).
- `stages.py`: the recipe's seven stages; `run_recipe` (`videokr run`) and `run_stage` (each single-stage verb).
- `demo.py`: `videokr demo`, the demo-inputs stage in front of the same seven stages, and the demo's bar.
"""
