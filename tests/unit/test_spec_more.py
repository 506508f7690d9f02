"""The contract of the endpoint groups added to kling.yaml one by one (drafted apart until all
were served): examples that match their schemas, the paging and id parameters, and
operationIds that name the handler module and function."""

from __future__ import annotations

from openapi_schema_validator import OAS30Validator

from kling_gateway.web.spec import load_spec, operations

OPERATIONS = {
    ("POST", "/v1/videos/video-extend"): "videos.create_video_extend",
    ("GET", "/v1/videos/video-extend"): "videos.list_video_extend",
    ("GET", "/v1/videos/video-extend/{id}"): "videos.get_video_extend",
    ("POST", "/v1/videos/effects"): "videos.create_effects",
    ("GET", "/v1/videos/effects"): "videos.list_effects",
    ("GET", "/v1/videos/effects/{id}"): "videos.get_effects",
    ("POST", "/v1/videos/omni-video"): "videos.create_omni_video",
    ("GET", "/v1/videos/omni-video"): "videos.list_omni_video",
    ("GET", "/v1/videos/omni-video/{id}"): "videos.get_omni_video",
    ("POST", "/v1/videos/motion-control"): "videos.create_motion_control",
    ("GET", "/v1/videos/motion-control"): "videos.list_motion_control",
    ("GET", "/v1/videos/motion-control/{id}"): "videos.get_motion_control",
    ("POST", "/v1/videos/avatar/image2video"): "videos.create_avatar_image2video",
    ("GET", "/v1/videos/avatar/image2video"): "videos.list_avatar_image2video",
    ("GET", "/v1/videos/avatar/image2video/{id}"): "videos.get_avatar_image2video",
    ("POST", "/v1/videos/lip-sync"): "lip_sync.create_lip_sync",
    ("GET", "/v1/videos/lip-sync"): "lip_sync.list_lip_sync",
    ("GET", "/v1/videos/lip-sync/{id}"): "lip_sync.get_lip_sync",
    ("POST", "/v1/videos/identify-face"): "lip_sync.identify_face",
    ("POST", "/v1/videos/advanced-lip-sync"): "lip_sync.create_advanced_lip_sync",
    ("GET", "/v1/videos/advanced-lip-sync"): "lip_sync.list_advanced_lip_sync",
    ("GET", "/v1/videos/advanced-lip-sync/{id}"): "lip_sync.get_advanced_lip_sync",
    ("POST", "/v1/images/kolors-virtual-try-on"): "images.create_virtual_try_on",
    ("GET", "/v1/images/kolors-virtual-try-on"): "images.list_virtual_try_on",
    ("GET", "/v1/images/kolors-virtual-try-on/{id}"): "images.get_virtual_try_on",
    ("POST", "/v1/images/editing/expand"): "images.create_expand",
    ("GET", "/v1/images/editing/expand"): "images.list_expand",
    ("GET", "/v1/images/editing/expand/{id}"): "images.get_expand",
    ("POST", "/v1/images/omni-image"): "images.create_omni_image",
    ("GET", "/v1/images/omni-image"): "images.list_omni_image",
    ("GET", "/v1/images/omni-image/{id}"): "images.get_omni_image",
    ("POST", "/v1/audio/text-to-audio"): "audio.create_text_to_audio",
    ("GET", "/v1/audio/text-to-audio"): "audio.list_text_to_audio",
    ("GET", "/v1/audio/text-to-audio/{id}"): "audio.get_text_to_audio",
    ("POST", "/v1/audio/video-to-audio"): "audio.create_video_to_audio",
    ("GET", "/v1/audio/video-to-audio"): "audio.list_video_to_audio",
    ("GET", "/v1/audio/video-to-audio/{id}"): "audio.get_video_to_audio",
    ("POST", "/v1/audio/tts"): "audio.tts",
    ("POST", "/v1/general/custom-voices"): "voices.create_custom_voice",
    ("GET", "/v1/general/custom-voices"): "voices.list_custom_voices",
    ("GET", "/v1/general/custom-voices/{id}"): "voices.get_custom_voice",
    ("GET", "/v1/general/presets-voices"): "voices.list_preset_voices",
    ("POST", "/v1/general/delete-voices"): "voices.delete_voice",
    ("POST", "/v1/general/advanced-custom-elements"): "elements.create_element",
    ("GET", "/v1/general/advanced-custom-elements"): "elements.list_elements",
    ("GET", "/v1/general/advanced-custom-elements/{id}"): "elements.get_element",
    ("GET", "/v1/general/advanced-presets-elements"): "elements.list_preset_elements",
    ("POST", "/v1/general/delete-elements"): "elements.delete_element",
    ("POST", "/v1/videos/image-recognize"): "elements.recognize_image",
}
PARAMETERS = "#/components/parameters/"
VOICE_LISTS = {"/v1/general/custom-voices", "/v1/general/presets-voices"}


def test_every_new_operation_is_served_with_its_operation_id_and_tag():
    spec, found = load_spec(), {}
    for method, path, operation_id in operations(spec):
        if (method, path) in OPERATIONS:
            found[method, path] = operation_id
            assert spec["paths"][path][method.lower()]["tags"] == [operation_id.split(".")[0]]
    assert found == OPERATIONS


def test_lists_take_the_paging_parameters_and_queries_the_task_id():
    spec = load_spec()
    for method, path, operation_id in operations(spec):
        if (method, path) not in OPERATIONS:
            continue
        refs = [p["$ref"] for p in spec["paths"][path][method.lower()].get("parameters", [])]
        if path.endswith("/{id}"):
            assert refs == [PARAMETERS + "TaskId"], operation_id
        elif method == "GET":
            size = "VoicePageSize" if path in VOICE_LISTS else "PageSize"
            assert refs == [PARAMETERS + "PageNum", PARAMETERS + size], operation_id
        else:
            assert refs == [], operation_id
    voice_size = spec["components"]["parameters"]["VoicePageSize"]
    assert voice_size["name"] == "pageSize"
    assert voice_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000,
                                    "default": 30}


def _examples(spec: dict):
    """(where, schema, example) for every request body and response (None: no example), and
    every parameter example."""
    components = spec["components"]
    for method, path, _ in operations(spec):
        operation = spec["paths"][path][method.lower()]
        for parameter in operation.get("parameters", []):
            if "$ref" in parameter:
                parameter = components["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
            if "example" in parameter:  # optional for parameters
                yield f"{method} {path} {parameter['name']}", parameter["schema"], \
                    parameter["example"]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            yield f"{method} {path} request", body["schema"], body.get("example")
        for status, response in operation["responses"].items():
            response = components["responses"][response["$ref"].rsplit("/", 1)[1]]
            content = response["content"]["application/json"]
            yield f"{method} {path} {status}", content["schema"], content.get("example")


def test_every_example_exists_and_matches_its_schema():
    spec = load_spec()
    for where, schema, example in _examples(spec):
        assert example is not None, f"{where}: no example"
        validator = OAS30Validator({**schema, "components": spec["components"]})
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validator.iter_errors(example)]
        assert errors == [], where
