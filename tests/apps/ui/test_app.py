"""Building the app (without serving it) and the ``rag ui`` command."""

import argparse
import sys

import pytest

import rag.apps.ui as ui
from rag.apps import cli
from rag.apps.ui.cli import add_arguments, parse_auth

pytestmark = pytest.mark.unit


def test_create_app_builds_without_launching(settings, fake_embedder, scripted_llm):
    app = ui.create_app(settings)
    assert app.title == "Ask your articles" and not app.is_running
    apis = {fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"}
    assert apis == {"ask", "upload"}  # the UI's own events stay private


def test_create_app_on_a_missing_data_directory(tmp_path, fake_embedder, scripted_llm):
    from rag import Settings

    app = ui.create_app(Settings(home=tmp_path / "new"))
    assert app is not None


def test_cli_defaults_bind_to_localhost():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.auth) == ("127.0.0.1", 7860, None)
    args = parser.parse_args(["--auth", "ann:pw", "--collection", "news", "--home", "/tmp/x"])
    assert (args.auth, args.collection, args.home) == ("ann:pw", "news", "/tmp/x")


def test_auth_flag():
    assert parse_auth("ann:pw:with:colons") == ("ann", "pw:with:colons")
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(ValueError, match="USER:PASSWORD"):
            parse_auth(bad)


def test_rag_ui_passes_its_flags_to_launch(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(
        "rag.apps.ui.app.launch", lambda settings, **kw: seen.update(kw, s=settings)
    )
    code = cli.main(["ui", "--port", "7999", "--auth", "a:b", "--home", str(tmp_path)])
    assert code == 0
    assert seen["host"] == "127.0.0.1" and seen["port"] == 7999 and seen["auth"] == ("a", "b")
    assert seen["s"].home == tmp_path


def test_rag_ui_without_gradio_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio -> ImportError
    assert cli.main(["ui"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "rag: error: the browser UI needs gradio, an optional extra: pip install -e '.[ui]'"
    )


def test_rag_ui_rejects_a_bad_auth_flag(capsys):
    assert cli.main(["ui", "--auth", "nopassword"]) == 2
    assert "--auth: expected USER:PASSWORD" in capsys.readouterr().err
