"""Loaders: one tiny fixture per format, written into tmp_path."""

import json

import pytest

from ingest.loaders import LoadError, iter_files, load_path
from rag.records import Article

pytestmark = pytest.mark.unit
MB = 10**6


def write_pdf(path, lines, title=None, author=None, encrypt=False):
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    if title:
        c.setTitle(title)
    if author:
        c.setAuthor(author)
    text = c.beginText(72, 760)
    for line in lines:
        text.textLine(line)
    c.drawText(text)
    c.save()
    if encrypt:
        writer = PdfWriter()
        writer.append(PdfReader(str(path)))
        writer.encrypt("secret")
        with open(path, "wb") as f:
            writer.write(f)


def load_one(path) -> Article:
    [article] = load_path(path, MB)
    return article


# ----- .txt / .md -----------------------------------------------------------------------
def test_markdown_front_matter_sets_the_metadata(tmp_path):
    p = tmp_path / "rye.md"
    p.write_text(
        "---\ntitle: Rye bread\ndate: 2024-05-01\nauthor: Jo Lee\n"
        'url: "https://example.org/rye"\nlayout: post\n---\n# Rye\n\nDark bread.'
    )
    a = load_one(p)
    assert (a.title, a.date, a.author, a.url) == (
        "Rye bread",
        "2024-05-01",
        "Jo Lee",
        "https://example.org/rye",
    )
    assert a.source == str(p.resolve()) and a.text == "# Rye\n\nDark bread."


def test_txt_title_is_the_first_line_when_it_reads_like_a_headline(tmp_path):
    p = tmp_path / "bakery.txt"
    p.write_text("\n\nBakery opens on Elm Street\n\nThe bakery opened today.")
    a = load_one(p)
    assert a.title == "Bakery opens on Elm Street" and a.date is a.author is a.url is None
    assert a.text.startswith("Bakery opens")  # the text is kept as written, title line included


@pytest.mark.parametrize(
    "first_line",
    ["The bakery opened today on Elm Street.", "x" * 201],
)
def test_txt_title_falls_back_to_the_file_stem(tmp_path, first_line):
    p = tmp_path / "elm-street.txt"
    p.write_text(first_line + "\n\nMore text.")
    assert load_one(p).title == "elm-street"


def test_unclosed_front_matter_is_plain_text(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("---\ntitle: nope\n\nBody text here.")
    a = load_one(p)
    assert a.text.startswith("---\ntitle: nope") and a.title == "title: nope"


def test_utf16_text_with_a_bom_loads(tmp_path):
    p = tmp_path / "u16.txt"
    p.write_bytes("Café news\n\nThe café opened.".encode("utf-16"))
    assert load_one(p).title == "Café news"


def test_crlf_and_odd_whitespace_are_normalised(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"Title\r\n\r\n\r\n\r\nBody\xc2\xa0 text.\r\n")
    assert load_one(p).text == "Title\n\nBody text."


# ----- .html ----------------------------------------------------------------------------
PAGE = """<html><head><title>Harbour park | Example News</title>
<meta name="author" content="Jo Lee">
<meta property="article:published_time" content="2023-05-04T10:00:00Z">
<link rel="canonical" href="https://example.org/harbour"></head><body>
<nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/login">Login</a></nav>
<article><h1>Harbour park</h1>
<p>The harbour park opened in 1990 after the council closed the port to cargo ships.</p>
<p>It has a pond with 40 ducks, a playground and a café that opens at eight.</p>
<p>Visitors can rent boats on weekends between April and October.</p></article>
<aside><h3>Recent Posts</h3><ul><li><a href="/x">Tesla trucks on hold</a></li></ul></aside>
<footer>Copyright 2024 Example News. All rights reserved.</footer></body></html>"""


def test_html_main_text_without_boilerplate_and_with_metadata(tmp_path):
    p = tmp_path / "harbour.html"
    p.write_text(PAGE)
    a = load_one(p)
    assert "opened in 1990" in a.text and "40 ducks" in a.text
    for furniture in ["Login", "All rights reserved", "Tesla", "Recent Posts"]:
        assert furniture not in a.text
    assert (a.title, a.author, a.date, a.url) == (
        "Harbour park",
        "Jo Lee",
        "2023-05-04",
        "https://example.org/harbour",
    )
    assert "\n\n" in a.text  # block elements become paragraphs


def test_html_date_is_never_guessed_from_a_copyright_line(tmp_path):
    p = tmp_path / "h.htm"
    p.write_text(PAGE.replace('content="2023-05-04T10:00:00Z"', 'content="soon"'))
    assert load_one(p).date is None


def test_html_in_a_declared_legacy_encoding(tmp_path):
    p = tmp_path / "latin.html"
    page = PAGE.replace("<head>", '<head><meta charset="windows-1252">')
    p.write_bytes(page.encode("cp1252"))
    assert "café that opens" in load_one(p).text


# ----- .pdf -----------------------------------------------------------------------------
def test_pdf_text_title_author_and_rejoined_lines(tmp_path):
    p = tmp_path / "museum.pdf"
    lines = [
        "The city museum holds 12,000 paintings and a large collection of",
        "sculptures from the nineteenth century, most of them given by the",
        "families of the town. It opened in 1901.",
    ]
    write_pdf(p, lines, title="Museum report", author="Ana Ruiz")
    a = load_one(p)
    assert (a.title, a.author) == ("Museum report", "Ana Ruiz")
    assert "collection of sculptures from the nineteenth century" in a.text


def test_pdf_without_metadata_takes_its_title_from_the_first_line(tmp_path):
    p = tmp_path / "notes.pdf"
    write_pdf(p, ["Museum annual report", "The museum opened in 1901."])
    a = load_one(p)
    assert a.title == "Museum annual report" and a.author is None  # reportlab's "anonymous"


def test_encrypted_pdf_is_refused_with_a_reason(tmp_path):
    p = tmp_path / "locked.pdf"
    write_pdf(p, ["Secret text."], encrypt=True)
    with pytest.raises(LoadError, match="encrypted PDF"):
        load_path(p, MB)


# ----- .jsonl ---------------------------------------------------------------------------
def test_jsonl_one_article_per_line_and_bad_lines_are_reported(tmp_path):
    p = tmp_path / "news.jsonl"
    lines = [
        json.dumps({"text": "First article text.", "title": "One", "url": "https://x.org/1"}),
        "{not json",
        json.dumps({"title": "no text"}),
        "",
        json.dumps({"text": "Second article text.", "date": "2024-01-02", "author": "Jo"}),
        json.dumps(["a list"]),
        json.dumps({"text": "Duplicate.", "url": "https://x.org/1"}),
        json.dumps({"text": "Bad title.", "title": {"nested": 1}}),
    ]
    p.write_text("\n".join(lines) + "\n")
    errors: list[str] = []
    articles = load_path(p, MB, errors)
    assert [(a.title, a.source) for a in articles] == [
        ("One", "https://x.org/1"),
        ("news #5", f"{p.resolve()}#L5"),
    ]
    assert (articles[1].date, articles[1].author) == ("2024-01-02", "Jo")
    assert [e.split(": ", 1)[0] for e in errors] == [f"{p}:{n}" for n in (2, 3, 6, 7, 8)]
    assert "invalid JSON" in errors[0] and "'text'" in errors[1] and "line 1" in errors[3]
    with pytest.raises(LoadError, match=f"{p}:2"):
        load_path(p, MB)  # without an error list, the first bad line raises


def test_jsonl_of_only_blank_lines_is_an_error(tmp_path):
    p = tmp_path / "blank.jsonl"
    p.write_text("\n\n  \n")
    with pytest.raises(LoadError, match="no articles"):
        load_path(p, MB)


# ----- bad files ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("binary.txt", b"\x00\x01\x02\x00" * 10, "binary file"),
        ("controls.md", bytes(range(1, 32)) * 20, "binary file"),
        ("image.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 4, "binary file"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "not valid UTF-8"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "broken PDF"),
        ("truncated.pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "broken PDF"),
        ("blank.html", b"<html><body><script>x()</script></body></html>", "no article text"),
        ("sheet.xlsx", b"PK\x03\x04", "unsupported type '.xlsx'"),
        ("spaces.md", b"   \n\n  \t", "no text after cleaning"),
        ("front-only.md", b"---\ntitle: T\n---\n", "no text after cleaning"),
    ],
)
def test_bad_files_raise_one_line_naming_the_file_and_why(tmp_path, name, content, reason):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(LoadError) as err:
        load_path(p, MB)
    message = str(err.value)
    assert message.startswith(f"{p}: ") and reason in message and "\n" not in message


def test_too_large_file(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text("word " * 1000)
    with pytest.raises(LoadError, match=r"too large \(0\.0 MB; the limit is 0\.001 MB\)"):
        load_path(p, 1000)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        load_path(tmp_path / "nope.txt", MB)
    with pytest.raises(LoadError, match="is a folder"):
        load_path(tmp_path, MB)


# ----- folders --------------------------------------------------------------------------
def test_folder_walk_is_sorted_and_skips_hidden_unsupported_and_question_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("B")
    (tmp_path / "sub" / "a.HTML").write_text("<p>A</p>")
    (tmp_path / ".git" / "c.txt").write_text("C")
    (tmp_path / ".hidden.txt").write_text("H")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "q.jsonl").write_text(json.dumps({"question": "Why?"}) + "\n")
    (tmp_path / "articles.jsonl").write_text(json.dumps({"text": "T"}) + "\n")
    (tmp_path / "z.md").write_text("Z")
    names = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert names == ["articles.jsonl", "z.md", "sub/a.HTML", "sub/b.txt"]


def test_a_file_given_explicitly_is_yielded_even_when_hidden(tmp_path):
    p = tmp_path / ".notes.txt"
    p.write_text("N")
    assert list(iter_files([p])) == [p]


# ----- links that cannot be read, and Form XObjects --------------------------------------
def test_links_that_cannot_be_read_say_why(tmp_path):
    from ingest.loaders import link_problem

    (tmp_path / "self").symlink_to(tmp_path / "self")
    (tmp_path / "a.md").symlink_to(tmp_path / "b.md")
    (tmp_path / "b.md").symlink_to(tmp_path / "a.md")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "real.txt").write_text("Real.")
    (tmp_path / "fine.txt").symlink_to(tmp_path / "real.txt")
    assert link_problem(tmp_path / "self") == "a link to itself"
    assert link_problem(tmp_path / "a.md") == "a link in a loop of links"
    assert link_problem(tmp_path / "gone.txt") == (
        f"a broken link (its target {tmp_path / 'nowhere.txt'} does not exist)"
    )
    assert link_problem(tmp_path / "fine.txt") is None
    assert link_problem(tmp_path / "real.txt") is None
    skipped: list = []
    files = list(iter_files([tmp_path], skipped))
    assert "a link to itself" in dict((p.name, r) for p, r in skipped)["self"]
    assert {p.name for p in files} == {"a.md", "b.md", "fine.txt", "gone.txt", "real.txt"}
    with pytest.raises(LoadError, match="a.md: a link in a loop of links"):
        load_path(tmp_path / "a.md")


def _form_pdf(tmp_path, forms: dict[str, bytes], page: bytes):
    """A one-page PDF whose page draws ``page`` with Form XObjects named ``forms``, each of
    which may draw the others (its Resources list them all)."""
    from tests.reliability.hostile import _pdf, _stream

    names = list(forms)
    first = 5  # objects: catalog, pages, page, content, then the forms
    xobjects = b" ".join(b"/%s %d 0 R" % (n.encode(), first + i) for i, n in enumerate(names))
    resources = b"<< /XObject << " + xobjects + b" >> >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
        + resources
        + b" /Contents 4 0 R >>",
        _stream(page),
    ]
    for name in names:
        extra = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources " + resources + b" "
        objects.append(_stream(forms[name], extra))
    path = tmp_path / "forms.pdf"
    path.write_bytes(_pdf(objects))
    return path


def test_form_xobjects_count_as_often_as_they_are_drawn(tmp_path):
    from pypdf import PdfReader

    from ingest.loaders import drawn_bytes

    inner = b"0 0 m 1 1 l S\n" * 1000  # 14 KB
    path = _form_pdf(tmp_path, {"A": b"/B Do\n" * 10, "B": inner}, b"/A Do\n" * 3)
    page = PdfReader(path).pages[0]
    data = page.get_contents().get_data()
    size = drawn_bytes(data, page["/Resources"], 10**9)
    assert size == len(data) + 3 * (60 + 10 * len(inner))  # 30 draws of B through A
    assert drawn_bytes(data, page["/Resources"], 1000) > 1000  # stops once over the limit


def test_a_form_drawing_itself_counts_as_over_the_limit(tmp_path):
    from pypdf import PdfReader

    from ingest.loaders import MAX_PDF_PAGE_CONTENT, drawn_bytes

    path = _form_pdf(tmp_path, {"A": b"/A Do\n"}, b"/A Do\n")
    page = PdfReader(path).pages[0]
    size = drawn_bytes(page.get_contents().get_data(), page["/Resources"], MAX_PDF_PAGE_CONTENT)
    assert size > MAX_PDF_PAGE_CONTENT
    with pytest.raises(LoadError, match="refused unread"):
        load_path(path)
