"""Decontamination: training rows checked against benchmark rows and videos by source id, near-duplicate video
(frame pHash + sequence matching) and question overlap (n-gram Jaccard via MinHash LSH).

    from videokr.data.decontam import Benchmark, DecontaminateSettings, decontaminate
    result = decontaminate(DecontaminateSettings(input=..., video_root=..., against=[Benchmark(rows=...)],
                                                 against_videos=[], output_dir=...))

`videokr data decontaminate` is the command; the README's "Decontamination" section explains the method.
"""

from videokr.data.decontam.pipeline import Benchmark, DecontaminateResult, DecontaminateSettings, decontaminate

__all__ = ["Benchmark", "DecontaminateResult", "DecontaminateSettings", "decontaminate"]
