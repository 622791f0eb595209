"""Building the app (without serving it) and the ``rag ui`` command."""

import argparse
import sys

import pytest

import ui
from rag import cli
from ui.cli import add_arguments, parse_auth

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
    monkeypatch.setattr("ui.app.launch", lambda settings, **kw: seen.update(kw, s=settings))
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


def test_rag_ui_passes_the_tls_files_to_launch(monkeypatch, tmp_path, capsys):
    seen = {}
    monkeypatch.setattr("ui.app.launch", lambda settings, **kw: seen.update(kw))
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    key.write_text("k")
    cert.write_text("c")
    flags = ["--ssl-keyfile", str(key), "--ssl-certfile", str(cert), "--home", str(tmp_path)]
    assert cli.main(["ui", "--host", "0.0.0.0", "--auth", "a:b", *flags]) == 0
    assert (seen["ssl_keyfile"], seen["ssl_certfile"]) == (str(key), str(cert))
    assert capsys.readouterr().err == ""  # exposed, but with a login and TLS: no warning


def test_rag_ui_warns_when_exposed_over_plain_http(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("ui.app.launch", lambda settings, **kw: None)
    assert cli.main(["ui", "--host", "0.0.0.0", "--auth", "a:b", "--home", str(tmp_path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "plain HTTP" in err[0] and "login password" in err[0]
    assert "--ssl-keyfile" in err[0] and "reverse proxy" in err[0]
    assert cli.main(["ui", "--home", str(tmp_path)]) == 0  # loopback: nothing to say
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--ssl-keyfile", "{key}"], "--ssl-certfile: needed too"),
        (["--ssl-certfile", "{key}"], "--ssl-keyfile: needed too"),
        (["--ssl-keyfile", "{key}", "--ssl-certfile", "/nope.pem"], "--ssl-certfile: no such"),
    ],
)
def test_rag_ui_rejects_incomplete_tls_flags(tmp_path, capsys, flags, message):
    key = tmp_path / "key.pem"
    key.write_text("k")
    assert cli.main(["ui", *[f.format(key=key) for f in flags]]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_api_ask_logs_a_bad_question_in_one_line(settings, fake_embedder, scripted_llm, caplog):
    import logging

    import gradio as gr

    app = ui.create_app(settings)
    [ask] = [fn.fn for fn in app.fns.values() if fn.api_name == "ask"]
    caplog.set_level(logging.INFO, logger="ui")
    for question, reason in (("   ", "empty"), ("x" * 3000, "the limit is 2000")):
        caplog.clear()
        with pytest.raises(gr.Error, match=reason) as caught:
            ask(question)
        assert caught.value.print_exception is False  # Gradio prints no traceback either
        [record] = caplog.records
        assert record.levelname == "WARNING" and record.exc_info is None
        assert reason in record.getMessage() and "\n" not in caplog.text.strip()
    app.rag_service.close()


def test_the_upload_api_takes_only_files_gradio_received(settings, fake_embedder, tmp_path):
    import gradio as gr

    from ui.app import received_files

    for sent in ([{"path": "/etc/hostname"}], [{"path": "/tmp/gradio/../../etc/passwd"}], ["x"]):
        with pytest.raises(gr.Error, match="handle_file"):
            received_files(sent)
