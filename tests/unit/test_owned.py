"""What a result says its objects are, and how long each lasts (``domain.owned``)."""

from __future__ import annotations

from kling_gateway.domain.owned import Resource, made_by, seconds_of


def test_a_result_names_its_objects_and_their_lengths_where_it_says():
    result = {"videos": [{"id": "v1", "duration": "5.1"}, {"id": ""}],
              "audios": [{"id": "a1", "duration": "3.2"},  # TTS
                         {"id": "a2", "duration_mp3": "7", "duration_wav": "7"},  # a sound
                         {"id": "a3", "duration": "soon"}, {"id": "a4", "duration": "0"}],
              "voices": [{"voice_id": "x"}]}
    assert made_by(result) == [(Resource.VIDEO, "v1"), (Resource.AUDIO, "a1"),
                               (Resource.AUDIO, "a2"), (Resource.AUDIO, "a3"),
                               (Resource.AUDIO, "a4"), (Resource.VOICE, "x")]
    assert seconds_of(result) == {(Resource.VIDEO, "v1"): 5.1, (Resource.AUDIO, "a1"): 3.2,
                                  (Resource.AUDIO, "a2"): 7.0}
    assert seconds_of(None) == {} and seconds_of({"audios": ["odd"]}) == {}
