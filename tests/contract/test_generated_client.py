"""A client generated from ``openapi/kling.yaml`` by openapi-generator talks to the simulator.

The contract is only useful to third parties if standard tooling turns it into a working client.
This generates the ``python`` client from the bundled spec the gateway serves as
``/kling/v1/openapi.json`` (the generator follows the split files' $refs too, to the same models
and API classes, but then renders the docs' request examples as Java maps), installs it into a
temporary directory (never the venv), imports it in a fresh interpreter and drives a text2video
task and a text-to-audio task through the generated API classes, with the JWT as the bearer token
of the generated ``Configuration``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kling_gateway import kling_jwt
from kling_gateway.simulator.settings import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
from kling_gateway.web.spec import load_spec

pytestmark = pytest.mark.slow

PACKAGE = "kling_client"
RUNTIME_DEPENDENCIES = {  # import name -> distribution the generated setup.py requires
    "pydantic": "pydantic",
    "dateutil": "python-dateutil",
    "urllib3": "urllib3",
    "typing_extensions": "typing-extensions",
}

# Runs in a fresh interpreter whose sys.path starts with the generated client's directory.
CLIENT_SCRIPT = textwrap.dedent("""
    import importlib.util, json, sys

    site, base_url, token, command, args = sys.argv[1:6]
    sys.path.insert(0, site)
    args = json.loads(args)
    missing = [dist for module, dist in args.pop("dependencies").items()
               if importlib.util.find_spec(module) is None]
    if missing:
        print(json.dumps({"missing": missing}))
        sys.exit(3)

    import kling_client
    from kling_client.models.task import Task
    from kling_client.models.task_envelope import TaskEnvelope
    from kling_client.models.task_status import TaskStatus
    from kling_client.models.text2_video_request import Text2VideoRequest
    from kling_client.models.video_aspect_ratio import VideoAspectRatio

    assert kling_client.__file__.startswith(site), kling_client.__file__
    configuration = kling_client.Configuration(host=base_url, access_token=token)
    videos = kling_client.VideosApi(kling_client.ApiClient(configuration))

    def summary(envelope):
        assert isinstance(envelope, TaskEnvelope), type(envelope)
        assert isinstance(envelope.data, Task), type(envelope.data)
        assert isinstance(envelope.data.task_status, TaskStatus), type(envelope.data.task_status)
        task = envelope.data
        result = task.task_result
        return {
            "code": envelope.code,
            "message": envelope.message,
            "task_id": task.task_id,
            "task_status": task.task_status.value,
            "external_task_id": task.task_info.external_task_id if task.task_info else None,
            "videos": [{"id": v.id, "url": v.url, "duration": v.duration}
                       for v in (result.videos or [])] if result else None,
        }

    if command == "create":
        request = Text2VideoRequest(prompt=args["prompt"], aspect_ratio=VideoAspectRatio("16:9"),
                                    external_task_id=args["external_task_id"])
        answer = {"created": summary(videos.videos_create_text2video(request))}
    elif command == "get":
        answer = {"by_id": summary(videos.videos_get_text2video(args["task_id"])),
                  "by_external_id": summary(videos.videos_get_text2video(args["external_task_id"]))}
        try:
            videos.videos_get_text2video("no-such-task")
        except kling_client.exceptions.NotFoundException as error:
            answer["missing"] = {"status": error.status, "body": json.loads(error.body)}
        else:
            answer["missing"] = None
    elif command == "create_sound":
        from kling_client.models.text_to_audio_request import TextToAudioRequest
        from kling_client.models.text_to_audio_request_duration import (
            TextToAudioRequestDuration,
        )

        audio = kling_client.AudioApi(kling_client.ApiClient(configuration))
        request = TextToAudioRequest(prompt=args["prompt"],
                                     duration=TextToAudioRequestDuration(args["duration"]),
                                     external_task_id=args["external_task_id"])
        answer = {"created": summary(audio.audio_create_text_to_audio(request))}
    elif command == "get_sound":
        audio = kling_client.AudioApi(kling_client.ApiClient(configuration))
        task = audio.audio_get_text_to_audio(args["external_task_id"]).data
        sounds = (task.task_result.audios or []) if task.task_result else []
        answer = {"task_status": task.task_status.value,
                  "audios": [{"url_mp3": a.url_mp3, "url_wav": a.url_wav,
                              "duration_mp3": a.duration_mp3} for a in sounds]}
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(answer))
""")


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def client_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generates the python client from the spec and pip-installs it into a temporary dir."""
    bin_dir = Path(sys.executable).parent
    generator = shutil.which("openapi-generator-cli", path=str(bin_dir))
    assert generator, f"openapi-generator-cli is not installed in {bin_dir} (pip extra 'test')"
    root = tmp_path_factory.mktemp("generated-client")
    spec, generated, site = root / "kling.json", root / "generated", root / "site"
    spec.write_text(json.dumps(load_spec("kling.yaml")), encoding="utf-8")

    result = _run([generator, "generate", "-g", "python", "-i", str(spec),
                   "-o", str(generated), "--package-name", PACKAGE], timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"the generator rejected the spec:\n{log}"
    errors = [line for line in log.splitlines() if " ERROR " in line or "Exception" in line]
    assert not errors, "the generator reported errors:\n" + "\n".join(errors)
    assert (generated / PACKAGE / "api" / "videos_api.py").is_file(), log[-3000:]

    result = _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                   "--disable-pip-version-check", "--target", str(site), str(generated)],
                  timeout=300)
    assert result.returncode == 0, f"pip could not install the client:\n{result.stderr}"
    return site


def _client(site: Path, base_url: str, token: str, command: str, **args: Any) -> dict[str, Any]:
    args["dependencies"] = RUNTIME_DEPENDENCIES
    # -I: no PYTHONPATH, no user site, no current directory; the script puts `site` first.
    result = _run([sys.executable, "-I", "-c", CLIENT_SCRIPT, str(site), base_url, token,
                   command, json.dumps(args)], timeout=120)
    if result.returncode == 3:
        missing = json.loads(result.stdout)["missing"]
        pytest.fail(f"the generated client needs {', '.join(missing)}, which the venv lacks: "
                    "add it to the 'test' extra in pyproject.toml")
    assert result.returncode == 0, f"the generated client failed:\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_generated_client_creates_and_queries_a_text2video_task(client_site: Path, sim):
    def token() -> str:
        return kling_jwt.sign(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, now=sim.clock())

    created = _client(client_site, sim.base_url, token(), "create",
                      prompt="a red panda drinking tea", external_task_id="generated-client-1")
    task = created["created"]
    assert (task["code"], task["message"]) == (0, "SUCCEED")
    assert task["task_status"] == "submitted"
    assert task["task_id"].isdigit()
    assert task["external_task_id"] == "generated-client-1"

    fetched = _client(client_site, sim.base_url, token(), "get",
                      task_id=task["task_id"], external_task_id="generated-client-1")
    assert fetched["by_id"] == fetched["by_external_id"]
    assert fetched["by_id"]["task_id"] == task["task_id"]
    assert fetched["by_id"]["task_status"] == "submitted"
    assert fetched["by_id"]["external_task_id"] == "generated-client-1"
    assert fetched["missing"] is not None, "querying an unknown task did not raise NotFound"
    assert fetched["missing"]["status"] == 404
    assert fetched["missing"]["body"]["code"] == 1203

    sim.finish_tasks()
    finished = _client(client_site, sim.base_url, token(), "get",
                       task_id=task["task_id"], external_task_id="generated-client-1")
    assert finished["by_external_id"]["task_id"] == task["task_id"]
    assert finished["by_external_id"]["task_status"] == "succeed"
    videos = finished["by_external_id"]["videos"]
    assert len(videos) == 1 and videos[0]["url"].endswith(".mp4")
    assert videos[0]["duration"] == "5"



def test_generated_client_makes_a_sound_effect(client_site: Path, sim):
    """A group served since the first six: text to audio through the generated AudioApi."""
    def token() -> str:
        return kling_jwt.sign(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, now=sim.clock())

    created = _client(client_site, sim.base_url, token(), "create_sound",
                      prompt="rain on a tin roof", duration=5.5,
                      external_task_id="generated-sound-1")["created"]
    assert (created["code"], created["task_status"]) == (0, "submitted")
    assert created["external_task_id"] == "generated-sound-1"

    sim.finish_tasks()
    finished = _client(client_site, sim.base_url, token(), "get_sound",
                       external_task_id="generated-sound-1")
    assert finished["task_status"] == "succeed"
    (sound,) = finished["audios"]
    assert sound["url_mp3"].endswith(".mp3") and sound["url_wav"].endswith(".wav")
    assert sound["duration_mp3"] == "5.5"
