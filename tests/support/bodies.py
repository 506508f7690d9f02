"""A small valid create body for every task family, and the paths each family lives at."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from kling_gateway.simulator.media import png_bytes

IMAGE_URL = "https://example.com/images/frame.png"
IMAGE_BASE64 = base64.b64encode(png_bytes(320, 320)).decode()


@dataclass(frozen=True)
class FamilyCase:
    name: str
    path: str
    body: dict[str, Any]
    makes_images: bool = False

    def __str__(self) -> str:
        return self.name


TASK_FAMILIES = [
    FamilyCase("text2video", "/v1/videos/text2video",
               {"prompt": "a red panda drinking tea", "mode": "std", "duration": "5"}),
    FamilyCase("image2video", "/v1/videos/image2video",
               {"image": IMAGE_URL, "prompt": "she turns around", "model_name": "kling-v1-6"}),
    FamilyCase("multi-image2video", "/v1/videos/multi-image2video",
               {"image_list": [{"image": IMAGE_URL}, {"image": IMAGE_BASE64}],
                "prompt": "the cat jumps on the sofa"}),
    FamilyCase("image-generation", "/v1/images/generations",
               {"prompt": "a watercolour lighthouse", "n": 2}, makes_images=True),
    FamilyCase("multi-image2image", "/v1/images/multi-image2image",
               {"subject_image_list": [{"subject_image": IMAGE_URL}], "prompt": "a picnic"},
               makes_images=True),
]
