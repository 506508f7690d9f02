"""How many fixed-size audio frames (or PCM samples) make up a requested duration."""

from __future__ import annotations

import math


def frame_count(seconds: float, sample_rate: int, samples_per_frame: int = 1) -> int:
    """Return the whole number of frames nearest to ``seconds``, never fewer than one.

    Codecs code audio in fixed frames (1152 samples for MP3, 1024 for AAC), so a length is
    only ever exact to within half a frame; nearest keeps the error as small as it can be.
    """
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be a positive finite number, got {seconds}")
    if sample_rate < 1:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    return max(1, round(seconds * sample_rate / samples_per_frame))
