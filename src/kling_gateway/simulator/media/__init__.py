"""Small, valid media files that the fake Kling service serves as task results.

Everything is built in memory with the standard library only, so the simulator needs no
codec, no image library and no files on disk.  Output is a pure function of the
arguments (no timestamps, no randomness): the same request always yields the same bytes,
which keeps tests and ETags stable and lets ``functools.lru_cache`` do the serving.

``png`` writes images and masks; ``mp4`` wraps the picture stream ``h264`` writes in an MP4
container, optionally with the silent sound track ``aac`` describes (videos made with
sound).  Audio results come as Kling returns them: ``mp3`` writes silent MPEG-1 Layer III
(text-to-audio, video-to-audio, TTS) and ``wav`` a quiet PCM tone (the WAV beside each MP3).
``timing`` turns a requested length into whole audio frames for all three.
"""

from __future__ import annotations

from kling_gateway.simulator.media.mp3 import mp3_bytes
from kling_gateway.simulator.media.mp4 import mp4_bytes
from kling_gateway.simulator.media.png import png_bytes, png_grayscale_mask
from kling_gateway.simulator.media.wav import wav_bytes

__all__ = ["mp3_bytes", "mp4_bytes", "png_bytes", "png_grayscale_mask", "wav_bytes"]
