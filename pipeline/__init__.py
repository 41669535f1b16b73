"""The analysis of one video: decoding, pose, angles, RULA/REBA scores, summaries and result files.

Owns: video decoding (:mod:`.video`), pose models and their registry
(:mod:`.pose`), joint angles, the ergonomic methods, the chunked and
checkpointed analysis (:mod:`.analysis`, storage kept out through the
``Checkpoints`` protocol), result files, quality presets, the demo and
synthetic videos.  May import: nothing of this project; every setting comes in
as an argument (this package never reads the environment; it pins the numeric
libraries' instruction sets in it, :mod:`.numerics`).
"""

from . import numerics

# before anything of the pipeline imports NumPy, OpenCV or Torch: see pipeline/numerics.py
numerics.pin()
