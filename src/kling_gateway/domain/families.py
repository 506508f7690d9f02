"""The task families of the official API, one declarative entry each.

A family is a kind of asynchronous Kling task with its own create, query and list paths. Its
entry says everything the gateway and the simulator need to know about it: where it lives
upstream, which ``operationId``s of the spec serve it, what it is priced by, which cross-field
rules its body obeys, how many of the account's concurrency slots it takes, which body fields
name the caller's own upstream objects, and what kind of result it yields. Handlers, pricing,
the simulator and the worker read these entries; none of them names a family.

Adding a family is its spec file, its entry here and its behaviour in the simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kling_gateway.domain import official_types, rules
from kling_gateway.domain.owned import EACH, Reference, Resource

Body = Mapping[str, Any]


class Result(StrEnum):
    """What a finished task's ``task_result`` holds."""

    VIDEOS = "videos"
    IMAGES = "images"
    AUDIOS = "audios"
    LIP_SYNCED_VIDEOS = "lip-synced videos"
    """Videos that always carry a sound track: the speech they were synced to."""
    VIDEOS_AND_AUDIOS = "videos with their new sound, and the sound alone"
    VOICES = "voices"
    ELEMENTS = "elements"


class Verb(StrEnum):
    CREATE = "create"
    LIST = "list"
    GET = "get"


@dataclass(frozen=True)
class Pricing:
    """What a family's tasks are priced by: the price keys of ``product`` (``domain.pricing``
    reads them) and Kling's default and documented models."""

    product: str
    default_model: str | None = None
    """None for a family without models."""
    models: tuple[str, ...] = ()
    """Every model Kling has documented for the family, old and new (shown by ``admin price
    list``; a request is not refused for naming another one)."""
    default_mode: str = "std"
    longest: Callable[[Body], int] | None = None
    """For a video whose length Kling decides from an input (a reference video): the most
    seconds this body can make. The task is charged for that many, and what its output did
    not use is given back when it succeeds."""


@dataclass(frozen=True, eq=False)  # one entry per family: identity is equality
class TaskFamily:
    name: str
    """As stored on each task and shown to operators."""
    path: str
    """Kling's create and list path; a task is queried at ``{path}/{id}``."""
    operations: Mapping[Verb, str]
    """The spec's ``operationId`` of each verb, handler module first."""
    pricing: Pricing
    result: Result
    rules: tuple[rules.Rule, ...] = ()
    has_sound: Callable[[Body], bool] = lambda body: False
    """Whether the video Kling makes for this body has a sound track."""
    typed_fields: official_types.FieldTypes = official_types.OFFICIAL_TYPES
    """The fields Kling also takes in another form, and their official types."""
    references: tuple[Reference, ...] = ()
    """Body fields that name upstream objects (``domain.owned``): another user's answers as
    Kling answers an unknown one, and the task goes to the channel that holds the object."""

    @property
    def makes_images(self) -> bool:
        return self.result is Result.IMAGES

    def objects_named(self, body: Body) -> list[tuple[str, Resource, str]]:
        """Each (field, kind, id) of an upstream object the body names."""
        return [(field_name, reference.resource, object_id) for reference in self.references
                for field_name, object_id in reference.found_in(body)]

    @property
    def pinned_to_its_objects(self) -> bool:
        """Runs where the objects it names live, full or not: never waits in the queue."""
        return bool(self.references)

    def check(self, body: Body) -> None:
        """Apply each cross-field rule to a body the schema already accepted."""
        for rule in self.rules:
            rule(body)

    def slots(self, body: Body) -> int:
        """Kling counts one slot per video task and one per requested image."""
        return int(body.get("n") or 1) if self.makes_images else 1


def operations(tag: str, noun: str, *, plural: str | None = None) -> dict[Verb, str]:
    """``videos``, ``text2video`` → ``videos.create_text2video``, ``videos.list_text2video``,
    ``videos.get_text2video``."""
    return {Verb.CREATE: f"{tag}.create_{noun}", Verb.LIST: f"{tag}.list_{plural or noun}",
            Verb.GET: f"{tag}.get_{noun}"}


_VIDEO_MODELS = ("kling-v1", "kling-v1-6", "kling-v2-master", "kling-v2-1-master",
                 "kling-v2-5-turbo", "kling-v2-6", "kling-v3")
_MULTI_SHOT = (rules.multi_shot_is_complete, rules.camera_config_matches_type)
MAX_AVATAR_SECONDS = 300
"""The longest audio an avatar speaks, so the longest video it makes."""
_VOICES = Reference(("voice_list", EACH, "voice_id"), Resource.VOICE)
_ELEMENTS = Reference(("element_list", EACH, "element_id"), Resource.ELEMENT)

FAMILIES: tuple[TaskFamily, ...] = (
    TaskFamily(
        "text2video", "/v1/videos/text2video", operations("videos", "text2video"),
        Pricing("kling-video", "kling-v1", _VIDEO_MODELS), Result.VIDEOS,
        rules=(rules.prompt_unless_custom_shots, *_MULTI_SHOT), references=(_VOICES,)),
    TaskFamily(
        "image2video", "/v1/videos/image2video", operations("videos", "image2video"),
        Pricing("kling-video", "kling-v1", ("kling-v1", "kling-v1-5", "kling-v1-6",
                                            "kling-v2-master", "kling-v2-1", "kling-v2-1-master",
                                            "kling-v2-5-turbo", "kling-v2-6", "kling-v3")),
        Result.VIDEOS,
        rules=(rules.image2video_needs_a_frame,
               rules.end_frame_motion_brush_and_camera_are_exclusive,
               rules.camera_config_matches_type, rules.multi_shot_is_complete,
               rules.voices_need_sound_and_exclude_elements,
               rules.images_rule("image", "image_tail", "static_mask",
                                 lists=(("dynamic_masks", "mask"),))),
        references=(_VOICES, _ELEMENTS)),
    TaskFamily(
        "multi-image2video", "/v1/videos/multi-image2video",
        operations("videos", "multi_image2video"),
        Pricing("kling-multi-image2video", "kling-v1-6", ("kling-v1-6",)), Result.VIDEOS,
        rules=(rules.images_rule(lists=(("image_list", "image"),)),)),
    TaskFamily(
        "image-generation", "/v1/images/generations",
        operations("images", "generation", plural="generations"),
        # kling-v3 by the newest docs; kling-v1 before
        Pricing("kling-image", "kling-v3", ("kling-v1", "kling-v1-5", "kling-v2", "kling-v2-new",
                                            "kling-v2-1", "kling-v3")),
        Result.IMAGES,
        rules=(rules.image_reference_needs_image, rules.negative_prompt_excludes_image,
               rules.images_rule("image")),
        references=(_ELEMENTS,)),
    TaskFamily(
        "multi-image2image", "/v1/images/multi-image2image",
        operations("images", "multi_image2image"),
        # kling-v2-1 by the newest docs; kling-v2 before
        Pricing("kling-multi-image2image", "kling-v2-1", ("kling-v2", "kling-v2-1")),
        Result.IMAGES,
        rules=(rules.images_rule("scene_image", "style_image",
                                 lists=(("subject_image_list", "subject_image"),)),)),
    TaskFamily(
        "multi-elements", "/v1/videos/multi-elements",
        operations("multi_elements", "task", plural="tasks"),
        Pricing("kling-multi-elements", "kling-v1-6", ("kling-v1-6",)), Result.VIDEOS,
        rules=(rules.edit_mode_image_count, rules.images_rule(lists=(("image_list", "image"),))),
        references=(Reference(("session_id",), Resource.SELECTION_SESSION),)),
    TaskFamily(
        "effects", "/v1/videos/effects", operations("videos", "effects"),
        Pricing("kling-effects"), Result.VIDEOS,
        rules=(rules.effect_input_matches_scene, rules.effect_images_are_urls_or_raw_base64),
        typed_fields=official_types.EFFECT_TYPES),
    TaskFamily(
        "omni-video", "/v1/videos/omni-video", operations("videos", "omni_video"),
        Pricing("kling-omni-video", "kling-video-o1", ("kling-video-o1", "kling-v3-omni"),
                default_mode="pro"),
        Result.VIDEOS, has_sound=lambda body: body.get("sound") == "on",
        rules=(rules.prompt_unless_custom_shots, rules.multi_shot_is_complete,
               rules.omni_video_reference_counts, rules.omni_video_frames,
               rules.omni_video_sound_off_with_video, rules.omni_video_duration_fits_model,
               rules.images_rule(lists=(("image_list", "image_url"),))),
        references=(_ELEMENTS,)),
    TaskFamily(
        "kolors-virtual-try-on", "/v1/images/kolors-virtual-try-on",
        operations("images", "virtual_try_on"),
        Pricing("kling-virtual-try-on", "kolors-virtual-try-on-v1",
                ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")),
        Result.IMAGES, rules=(rules.images_rule("human_image", "cloth_image"),)),
    TaskFamily(
        "image-expand", "/v1/images/editing/expand", operations("images", "expand"),
        Pricing("kling-image-expand"), Result.IMAGES,
        rules=(rules.expansion_area_at_most_3x, rules.images_rule("image"))),
    TaskFamily(
        "omni-image", "/v1/images/omni-image", operations("images", "omni_image"),
        Pricing("kling-omni-image", "kling-image-o1", ("kling-image-o1", "kling-v3-omni")),
        Result.IMAGES,
        rules=(rules.omni_image_reference_count,
               rules.images_rule(lists=(("image_list", "image"),))),
        references=(_ELEMENTS,)),
    TaskFamily(
        "text-to-audio", "/v1/audio/text-to-audio", operations("audio", "text_to_audio"),
        Pricing("kling-text-to-audio"), Result.AUDIOS,
        typed_fields=official_types.SOUND_TYPES),
    TaskFamily(
        "motion-control", "/v1/videos/motion-control", operations("videos", "motion_control"),
        Pricing("kling-motion-control", "kling-v2-6", ("kling-v2-6", "kling-v3"),
                longest=lambda body: 30 if body.get("character_orientation") == "video" else 10),
        Result.VIDEOS,
        # The output keeps the reference video's sound unless asked not to.
        has_sound=lambda body: body.get("keep_original_sound") != "no",
        rules=(rules.images_rule("image_url"),)),
    TaskFamily(
        # The video speaks its audio and lasts as long (2-300 s): charged for the caller's TTS
        # audio's recorded length, else (a sound file) for the longest; settled to what was made.
        "avatar", "/v1/videos/avatar/image2video", operations("videos", "avatar_image2video"),
        Pricing("kling-avatar", longest=lambda body: MAX_AVATAR_SECONDS), Result.VIDEOS,
        has_sound=lambda body: True,
        rules=(rules.audio_id_xor_sound_file, rules.images_rule("image")),
        references=(Reference(("audio_id",), Resource.AUDIO),)),
    TaskFamily(
        # Priced by the mode of the video it extends (model and mode are the source's).
        "video-extend", "/v1/videos/video-extend", operations("videos", "video_extend"),
        Pricing("kling-video-extend"), Result.VIDEOS,
        references=(Reference(("video_id",), Resource.VIDEO),)),
    TaskFamily(
        "lip-sync", "/v1/videos/lip-sync", operations("lip_sync", "lip_sync"),
        Pricing("kling-lip-sync"), Result.LIP_SYNCED_VIDEOS,
        rules=(rules.lip_sync_input_video_id_xor_video_url, rules.lip_sync_input_matches_mode),
        references=(Reference(("input", "video_id"), Resource.VIDEO),)),
    TaskFamily(
        "video-to-audio", "/v1/audio/video-to-audio", operations("audio", "video_to_audio"),
        Pricing("kling-video-to-audio"), Result.VIDEOS_AND_AUDIOS,
        rules=(rules.video_id_xor_video_url,),
        references=(Reference(("video_id",), Resource.VIDEO),)),
    TaskFamily(
        "advanced-lip-sync", "/v1/videos/advanced-lip-sync",
        operations("lip_sync", "advanced_lip_sync"),
        Pricing("kling-advanced-lip-sync"), Result.LIP_SYNCED_VIDEOS,
        rules=(rules.face_choose_has_one_face, rules.face_choose_audio_id_xor_sound_file,
               rules.face_choose_crop_is_2_seconds),
        references=(Reference(("session_id",), Resource.FACE_SESSION),
                    Reference(("face_choose", EACH, "audio_id"), Resource.AUDIO))),
    TaskFamily(
        "custom-voices", "/v1/general/custom-voices",
        operations("voices", "custom_voice", plural="custom_voices"),
        Pricing("kling-custom-voice"), Result.VOICES,
        rules=(rules.voice_url_xor_video_id,),
        references=(Reference(("video_id",), Resource.VIDEO),)),
    TaskFamily(
        "custom-elements", "/v1/general/advanced-custom-elements",
        operations("elements", "element", plural="elements"),
        Pricing("kling-custom-element"), Result.ELEMENTS,
        rules=(rules.element_references_match_type, rules.element_images_are_urls_or_raw_base64),
        references=(Reference(("element_voice_id",), Resource.VOICE),)),
)

_BY_NAME = {family.name: family for family in FAMILIES}
_BY_OPERATION = {operation_id: (family, verb) for family in FAMILIES
                 for verb, operation_id in family.operations.items()}

PROBE = FAMILIES[0]
"""Whose query path a channel's keys are checked on (an unknown id answers 'not found')."""
SELECTIONS = _BY_NAME["multi-elements"]
"""The family whose tasks edit a selection session; the session's calls live under its path."""


def named(name: str) -> TaskFamily:
    """The family of a stored task; KeyError for a name no entry has."""
    return _BY_NAME[name]


def by_operation(operation_id: str) -> tuple[TaskFamily, Verb] | None:
    """The family and verb an ``operationId`` serves, if a family serves it."""
    return _BY_OPERATION.get(operation_id)
