"""A bad environment variable stops the gateway at once, naming the variable: not a traceback,
and not a 5000 on the first request that needs it."""

from __future__ import annotations

import pytest

from kling_gateway.cli import main
from kling_gateway.config import Settings, SettingsError


@pytest.mark.parametrize(("name", "value", "says"), [
    ("KLING_GATEWAY_CALLBACK_ALLOW_NETWORKS", "10.0.0.0/8, nonsense",
     "'nonsense' is not a network"),
    ("KLING_GATEWAY_CALLBACK_ALLOW_NETWORKS", "10.0.0.0/33", "'10.0.0.0/33' is not a network"),
    ("KLING_GATEWAY_TASK_TIMEOUT_SECONDS", "a day", "'a day' is not a whole number"),
    ("KLING_GATEWAY_LOST_AFTER_SECONDS", "soon", "'soon' is not a number"),
    ("KLING_GATEWAY_MAX_UNKNOWN_FIELDS_BYTES", "64k", "'64k' is not a whole number"),
])
def test_a_bad_variable_is_named(name: str, value: str, says: str):
    with pytest.raises(SettingsError, match=f"{name}.*{says}"):
        Settings.from_env({name: value})


def test_the_command_line_says_which_variable_and_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("KLING_GATEWAY_CALLBACK_ALLOW_NETWORKS", "nonsense")
    with pytest.raises(SystemExit) as stopped:
        main(["worker"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "kling-gateway: KLING_GATEWAY_CALLBACK_ALLOW_NETWORKS: 'nonsense'" in error
    assert "Traceback" not in error


def test_allowed_networks_are_kept_as_written():
    settings = Settings.from_env({"KLING_GATEWAY_CALLBACK_ALLOW_NETWORKS": " 10.0.0.0/8 ,::1/128"})
    assert settings.callback_allow_networks == ("10.0.0.0/8", "::1/128")
