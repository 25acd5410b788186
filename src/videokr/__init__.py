"""videokr: post-training video language models on knowledge- and reasoning-intensive video QA.

The package core is light (PyYAML, NumPy, PyArrow, PyAV); torch, transformers and the engines are
imported only by the functions and engine environments that need them.
"""

__version__ = "0.1.0"
