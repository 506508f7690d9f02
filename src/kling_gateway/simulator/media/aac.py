"""The sound of a video with audio: silent AAC-LC frames, 44.1 kHz mono, raw (no ADTS)."""

from __future__ import annotations

SAMPLE_RATE = 44100
SAMPLES_PER_FRAME = 1024  # AAC-LC codes fixed frames of 1024 samples

# AudioSpecificConfig (ISO 14496-3 1.6.2.1): object type 2 (AAC-LC) in 5 bits, sampling
# frequency index 4 (44.1 kHz) in 4 bits, channel configuration 1 (mono) in 4 bits, then
# three zero GASpecificConfig flags: 0x12 0x08.
AUDIO_SPECIFIC_CONFIG = ((2 << 11) | (4 << 7) | (1 << 3)).to_bytes(2, "big")

# The widely used silent mono frame: a single_channel_element with global_gain 160 and
# max_sfb 0 (no scale-factor bands, so no spectral data: every sample decodes to zero),
# then the END element, byte-aligned.
SILENT_FRAME = bytes([0x01, 0x40, 0x20, 0x07])
