import json

import pytest

from ingest.loaders import LoadError, iter_files, load_path

pytestmark = pytest.mark.unit
MB = 10**6


def write_pdf(path, text: str) -> None:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.setTitle("A PDF article")
    c.drawString(72, 720, text)
    c.save()


def test_markdown_front_matter_sets_metadata(tmp_path):
    p = tmp_path / "a.md"
    p.write_text(
        "---\ntitle: Rye\ndate: 2024-05-01\nurl: https://example.org/rye\n---\n# Rye\n\nBread."
    )
    [a] = load_path(p, MB)
    assert (a.title, a.date, a.url, a.source) == (
        "Rye",
        "2024-05-01",
        "https://example.org/rye",
        str(p),
    )


def test_txt_title_from_first_line(tmp_path):
    p = tmp_path / "b.txt"
    p.write_text("Bakery opens\n\nThe bakery opened today.")
    assert load_path(p, MB)[0].title == "Bakery opens"


def test_html_main_text_without_boilerplate(tmp_path):
    p = tmp_path / "c.html"
    body = "<p>The harbour park opened in 1990 after the council closed the port to cargo.</p>" * 5
    p.write_text(
        "<html><head><title>Harbour park</title></head><body>"
        "<nav>Home | News | Sport | Login</nav>"
        f"<article><h1>Harbour park</h1>{body}</article>"
        "<footer>Copyright 2024 Example News. All rights reserved.</footer></body></html>"
    )
    [a] = load_path(p, MB)
    assert "harbour park opened in 1990" in a.text
    assert "Login" not in a.text and "All rights reserved" not in a.text
    assert a.title == "Harbour park"


def test_pdf_text_and_title(tmp_path):
    p = tmp_path / "d.pdf"
    write_pdf(p, "The museum holds 12,000 paintings.")
    [a] = load_path(p, MB)
    assert "12,000 paintings" in a.text and a.title == "A PDF article"


def test_jsonl_bad_line_is_reported_and_the_rest_loads(tmp_path):
    p = tmp_path / "e.jsonl"
    lines = [
        json.dumps({"text": "First article text.", "title": "One", "url": "https://x.org/1"}),
        "{not json",
        json.dumps({"title": "no text"}),
        json.dumps({"text": "Second article text."}),
    ]
    p.write_text("\n".join(lines))
    errors: list[str] = []
    articles = load_path(p, MB, errors)
    assert [a.title for a in articles] == ["One", "e #4"]
    assert articles[0].source == "https://x.org/1" and articles[1].source.endswith("e.jsonl#L4")
    assert errors[0].startswith(f"{p}:2: invalid JSON") and errors[1].startswith(f"{p}:3:")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("binary.txt", b"\x00\x01\x02\x00" * 10, "binary file"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "not valid UTF-8"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("blank.html", b"<html><body><script>x()</script></body></html>", "no article text"),
        ("sheet.xlsx", b"PK\x03\x04", "unsupported type"),
        ("spaces.md", b"   \n\n  ", "no text after cleaning"),
    ],
)
def test_bad_files_raise_one_line_naming_the_file(tmp_path, name, content, reason):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(LoadError) as err:
        load_path(p, MB)
    message = str(err.value)
    assert message.startswith(str(p)) and reason in message and "\n" not in message


def test_too_large_file(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text("word " * 1000)
    with pytest.raises(LoadError, match="too large"):
        load_path(p, 1000)


def test_folder_walk_skips_hidden_unsupported_and_question_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("A")
    (tmp_path / ".hidden.txt").write_text("H")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "q.jsonl").write_text(json.dumps({"question": "Why?"}) + "\n")
    (tmp_path / "articles.jsonl").write_text(json.dumps({"text": "T"}) + "\n")
    assert [p.name for p in iter_files([tmp_path])] == ["articles.jsonl", "a.txt"]
