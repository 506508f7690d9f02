"""TTS, custom voices, custom elements, their presets and image recognition, driven through the
gateway as a Kling client would: created, found, listed and billed; private to the user who
made them (another user's id is 1201 and never reaches upstream); pinned to the channel that
holds them; presets usable by everyone and read from upstream once; deleted only by their
owner; refunded once when Kling fails them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from kling_gateway.domain.owned import Resource
from kling_gateway.services.presets import PresetCache
from kling_gateway.storage import owned as owned_store
from kling_gateway.storage.models import User
from tests.support.bodies import IMAGE_URL
from tests.support.gateway import CNY, SIM_KEY, Gateway, Tenant

VOICES, ELEMENTS = "/v1/general/custom-voices", "/v1/general/advanced-custom-elements"
T2V, IMAGES = "/v1/videos/text2video", "/v1/images/generations"
VOICE_BODY = {"voice_name": "Narrator", "voice_url": "https://example.com/audio/n.mp3",
              "video_id": ""}
ELEMENT_BODY = {"element_name": "Hero", "element_description": "The red-haired hero",
                "reference_type": "image_refer",
                "element_image_list": {"frontal_image": IMAGE_URL,
                                       "refer_images": [{"image_url": IMAGE_URL}]},
                "tag_list": [{"tag_id": "o_102"}]}
PRESET_VOICE, PRESET_ELEMENT = "voice-1", 160
ACCOUNT = SIM_KEY[0]


def amount(cny: str) -> int:
    return int(Decimal(cny) * CNY)


def _with_voice(voice_id: str) -> dict[str, Any]:
    return {"prompt": "<<<voice_1>>> says hello", "model_name": "kling-v2-6", "mode": "pro",
            "sound": "on", "voice_list": [{"voice_id": voice_id}]}


def _made(gateway: Gateway, tenant: Tenant, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create, let upstream finish, and read back the finished task."""
    task_id = tenant.key.create(path, body)["task_id"]
    gateway.finish_upstream_tasks()
    task = tenant.key.get(f"{path}/{task_id}").json()["data"]
    assert task["task_status"] == "succeed", task
    return task


def _voice(gateway: Gateway, tenant: Tenant, **extra: Any) -> str:
    task = _made(gateway, tenant, VOICES, {**VOICE_BODY, **extra})
    return task["task_result"]["voices"][0]["voice_id"]


def _element(gateway: Gateway, tenant: Tenant, **extra: Any) -> int:
    task = _made(gateway, tenant, ELEMENTS, {**ELEMENT_BODY, **extra})
    return task["task_result"]["elements"][0]["element_id"]


def _refused(response: requests.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["code"] == 1201 and field in answer["message"], answer


def _download(url: str) -> bytes:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    return response.content


def test_tts_answers_at_once_is_billed_and_its_audio_is_the_callers(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    answer = ada.key.post("/v1/audio/tts", {"text": "Welcome to the show",
                                           "voice_id": "oversea_male1", "voice_language": "en"})
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["task_status"] == "succeed"
    (audio,) = data["task_result"]["audios"]
    assert _download(audio["url"])[:2] == b"\xff\xfb"  # an MP3 frame
    assert [(e.price_key, -e.amount) for e in gateway.charges()] == [("kling-tts",
                                                                      amount("0.05"))]
    held = owned_store.find(Resource.AUDIO, audio["id"])
    assert held is not None and held.user_id == User.get(User.name == "ada").id
    gateway.assert_books_balance()


def test_tts_and_recognition_refused_upstream_are_refunded_once(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    refused = ada.key.post("/v1/audio/tts", {"text": "hi #sim-unsafe", "voice_id": "x"})
    assert refused.status_code == 400 and refused.json()["code"] == 1301, refused.text
    refused = ada.key.post("/v1/videos/image-recognize", {"image": f"{IMAGE_URL}#sim-unsafe"})
    assert refused.status_code == 400 and refused.json()["code"] == 1301, refused.text
    assert sorted(e.amount for e in gateway.charges("refund")) == [amount("0.05"),
                                                                   amount("0.1")]
    assert ada.balance == 1000 * CNY
    gateway.assert_books_balance()


def test_image_recognition_answers_the_four_parts_and_is_billed(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    answer = ada.key.post("/v1/videos/image-recognize", {"image": IMAGE_URL})
    assert answer.status_code == 200, answer.text
    images = answer.json()["data"]["task_result"]["images"]
    assert [image["type"] for image in images] == ["object_seg", "head_seg", "face_seg",
                                                    "cloth_seg"]
    assert _download(images[0]["url"]).startswith(b"\x89PNG")
    assert [(e.price_key, -e.amount) for e in gateway.charges()] == [
        ("kling-image-recognize", amount("0.1"))]


def test_custom_voices_and_elements_are_created_found_listed_billed_and_private(gateway):
    gateway.add_upstream("sim")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")
    for path, body, listed, key in ((VOICES, VOICE_BODY, "voices", "kling-custom-voice"),
                                    (ELEMENTS, ELEMENT_BODY, "elements",
                                     "kling-custom-element")):
        external = f"ada-{listed}"
        task_id = ada.key.create(path, {**body, "external_task_id": external})["task_id"]
        gateway.finish_upstream_tasks()
        by_id = ada.key.get(f"{path}/{task_id}").json()["data"]
        by_external = ada.jwt.get(f"{path}/{external}").json()["data"]
        assert by_id["task_status"] == "succeed" and by_external["task_id"] == task_id
        (made,) = by_id["task_result"][listed]
        assert made["owned_by"] != "kling"
        page = ada.key.get(path, pageNum=1, pageSize=30 if path == ELEMENTS else 1000)
        assert [task["task_id"] for task in page.json()["data"]] == [task_id]
        assert gateway.charges()[-1].price_key == key
        assert -gateway.charges()[-1].amount == amount("0.05")
        for reference in (task_id, external):
            assert bob.key.get(f"{path}/{reference}").json()["code"] == 1203
        assert bob.key.get(path).json()["data"] == []
    assert bob.balance == 1000 * CNY
    gateway.assert_books_balance()


def test_a_custom_voice_that_fails_upstream_is_refunded_once(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.key.create(VOICES, {**VOICE_BODY, "voice_name": "n #sim-fail"})["task_id"]
    gateway.finish_upstream_tasks()
    for _ in range(2):
        assert ada.key.get(f"{VOICES}/{task_id}").json()["data"]["task_status"] == "failed"
    assert [(e.task_id, e.amount) for e in gateway.charges("refund")] == [
        (task_id, amount("0.05"))]
    assert ada.balance == 1000 * CNY


def test_another_users_voice_element_or_video_is_refused_and_never_sent(gateway):
    upstream = gateway.add_upstream("sim")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")
    voice, element = _voice(gateway, ada), _element(gateway, ada)
    video = _made(gateway, ada, T2V, {"prompt": "a fox"})["task_result"]["videos"][0]["id"]
    jobs = len(upstream.jobs())

    _refused(bob.key.post(T2V, _with_voice(voice)), "voice_list[0].voice_id")
    _refused(bob.key.post(IMAGES, {"prompt": "x", "element_list": [{"element_id": element}]}),
             "element_list[0].element_id")
    _refused(bob.key.post(ELEMENTS, {**ELEMENT_BODY, "reference_type": "video_refer",
                                     "element_video_list": {"refer_videos": [
                                         {"video_url": "https://example.com/v.mp4"}]},
                                     "element_voice_id": voice}), "element_voice_id")
    _refused(bob.key.post(VOICES, {"voice_name": "Copy", "video_id": video}), "video_id")
    _refused(bob.key.post("/v1/general/delete-voices", {"voice_id": voice}), "voice_id")
    _refused(bob.key.post("/v1/general/delete-elements", {"element_id": str(element)}),
             "element_id")
    # Neither a preset nor anyone's: refused the same way.
    _refused(ada.key.post(T2V, _with_voice("no-such-voice")), "voice_list[0].voice_id")

    assert len(upstream.jobs()) == jobs
    assert upstream.simulator.tasks.made(ACCOUNT, Resource.VOICE, voice) is not None
    assert upstream.simulator.tasks.made(ACCOUNT, Resource.ELEMENT, str(element)) is not None
    assert bob.balance == 1000 * CNY
    gateway.assert_books_balance()


def test_a_task_naming_the_callers_objects_goes_to_the_channel_holding_them(gateway):
    first = gateway.add_upstream("first")
    ada = gateway.tenant("ada")
    voice = _voice(gateway, ada)
    video = _made(gateway, ada, T2V, {"prompt": "a fox"})["task_result"]["videos"][0]["id"]
    second = gateway.add_upstream("second", priority=10)  # preferred from now on
    counts = (len(first.jobs()), len(second.jobs()))

    assert ada.key.post(T2V, _with_voice(voice)).status_code == 200
    element_task = ada.key.create(ELEMENTS, {**ELEMENT_BODY, "reference_type": "video_refer",
                                             "element_video_list": {"refer_videos": [
                                                 {"video_url": "https://example.com/v.mp4"}]},
                                             "element_voice_id": voice})["task_id"]
    assert ada.key.post(VOICES, {"voice_name": "From video", "video_id": video}
                        ).status_code == 200
    assert (len(first.jobs()), len(second.jobs())) == (counts[0] + 3, counts[1])
    # A preset pins nothing: the preferred channel takes the task.
    assert ada.key.post(T2V, _with_voice(PRESET_VOICE)).status_code == 200
    assert (len(first.jobs()), len(second.jobs())) == (counts[0] + 3, counts[1] + 1)

    gateway.finish_upstream_tasks()
    finished = ada.key.get(f"{ELEMENTS}/{element_task}").json()["data"]
    (element,) = finished["task_result"]["elements"]
    assert element["element_voice_info"]["voice_id"] == voice


def test_presets_are_everyones_read_from_upstream_once_and_paged(gateway):
    upstream = gateway.add_upstream("sim")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")
    for path, listed, field, preset in (
            ("/v1/general/presets-voices", "voices", "voice_id", PRESET_VOICE),
            ("/v1/general/advanced-presets-elements", "elements", "element_id",
             PRESET_ELEMENT)):
        everything = ada.key.get(path, pageNum=1, pageSize=500).json()["data"]
        ids = [task["task_result"][listed][0][field] for task in everything]
        assert preset in ids
        assert all(task["task_result"][listed][0]["owned_by"] == "kling" for task in everything)
        second = bob.jwt.get(path, pageNum=2, pageSize=2).json()["data"]
        assert second == everything[2:4]
    assert upstream.simulator.presets.reads == {Resource.VOICE: 1, Resource.ELEMENT: 1}

    # Presets pass for anyone, and are not the caller's to delete.
    assert bob.key.post(T2V, _with_voice(PRESET_VOICE)).status_code == 200
    assert bob.key.post(IMAGES, {"prompt": "x", "element_list": [
        {"element_id": PRESET_ELEMENT}]}).status_code == 200
    _refused(bob.key.post("/v1/general/delete-voices", {"voice_id": PRESET_VOICE}), "voice_id")
    assert upstream.simulator.presets.reads == {Resource.VOICE: 1, Resource.ELEMENT: 1}


def test_only_the_owner_deletes_a_custom_voice_or_element_and_it_is_gone(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    voice, element = _voice(gateway, ada), _element(gateway, ada)

    deleted = ada.key.post("/v1/general/delete-voices", {"voice_id": voice})
    assert deleted.status_code == 200, deleted.text
    assert set(deleted.json()["data"]) == {"task_id", "task_status"}
    deleted = ada.key.post("/v1/general/delete-elements", {"element_id": element})
    assert deleted.status_code == 200, deleted.text
    assert upstream.simulator.tasks.made(ACCOUNT, Resource.VOICE, voice) is None
    assert owned_store.find(Resource.ELEMENT, str(element)) is None

    _refused(ada.key.post(T2V, _with_voice(voice)), "voice_list[0].voice_id")
    _refused(ada.key.post("/v1/general/delete-voices", {"voice_id": voice}), "voice_id")
    assert gateway.charges()[-1].price_key == "kling-custom-element"  # deleting is free


def test_the_preset_cache_reads_upstream_again_after_its_ttl(gateway):
    upstream = gateway.add_upstream("sim")
    now = [0.0]
    cache = PresetCache(ttl_seconds=600, clock=lambda: now[0])
    upstreams = gateway.context.upstreams
    first = cache.page(upstreams, Resource.VOICE, 1, 2)
    assert cache.is_preset(upstreams, Resource.VOICE, PRESET_VOICE)
    assert not cache.is_preset(upstreams, Resource.VOICE, "no-such-voice")
    now[0] = 599.0
    assert cache.page(upstreams, Resource.VOICE, 1, 2) == first
    assert upstream.simulator.presets.reads[Resource.VOICE] == 1
    now[0] = 601.0
    assert cache.page(upstreams, Resource.VOICE, 1, 2) == first
    assert upstream.simulator.presets.reads[Resource.VOICE] == 2
