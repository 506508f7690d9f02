"""WAV results: mono 16-bit PCM holding a quiet tone, written with the stdlib ``wave`` module."""

from __future__ import annotations

import functools
import io
import math
import struct
import wave

from kling_gateway.simulator.media.timing import frame_count

# About -30 dBFS: clearly audible in a demo, never loud in headphones.
_TONE_AMPLITUDE = 1000
_SAMPLE_WIDTH = 2  # bytes: 16-bit PCM


def _one_period(sample_rate: int, tone_hz: int) -> bytes:
    """One cycle of the tone as little-endian int16 samples; silence when ``tone_hz`` is 0.

    The period is a whole number of samples, so the clip is this cycle repeated: cheap for
    long clips, and bit-identical everywhere since ``sin`` runs only for one short cycle.
    """
    if tone_hz == 0:
        return bytes(_SAMPLE_WIDTH)
    period = max(2, round(sample_rate / tone_hz))
    samples = [round(_TONE_AMPLITUDE * math.sin(2 * math.pi * i / period)) for i in range(period)]
    return struct.pack(f"<{period}h", *samples)


@functools.lru_cache(maxsize=16)
def wav_bytes(seconds: float, sample_rate: int = 16000, tone_hz: int = 440) -> bytes:
    """Return a mono 16-bit PCM WAV of ``seconds`` (to the nearest sample).

    The tone's pitch is the nearest one whose period is a whole number of samples (444 Hz
    for 440 at 16 kHz); ``tone_hz=0`` gives silence.
    """
    samples = frame_count(seconds, sample_rate)
    if not 0 <= tone_hz <= sample_rate // 2:
        raise ValueError(f"tone_hz must be in 0..{sample_rate // 2} (Nyquist), got {tone_hz}")
    cycle = _one_period(sample_rate, tone_hz)
    whole, rest = divmod(samples * _SAMPLE_WIDTH, len(cycle))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(_SAMPLE_WIDTH)
        wav.setframerate(sample_rate)
        wav.writeframes(cycle * whole + cycle[:rest])
    return out.getvalue()
