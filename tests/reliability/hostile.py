"""A generated corpus of hostile files (shared by the reliability tests and bench)."""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path

GOOD_TEXT = (
    "Marigold Bakery\n\nThe Marigold Bakery in Leeds bakes four hundred rye loaves every "
    "morning. Its owner, Ada Brown, opened it in 1998 after training in Hamburg.\n"
)


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file of ``objects`` (numbered from 1; object 1 is the catalog)."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    return b"<< %s/Length %d /Filter /FlateDecode >>\nstream\n" % (extra, len(packed)) + (
        packed + b"\nendstream"
    )


def _pages(first: int, pages: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (first + i) for i in range(pages))
    return b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_bomb(path: Path, repeats: int = 1_000_000, pages: int = 1) -> Path:
    """A small PDF whose FlateDecode content stream expands to millions of characters of text
    (``repeats`` text-showing operators of ten letters per page)."""
    content = b"BT /F1 12 Tf 72 720 Td\n" + b"(aaaaaaaaa ) Tj\n" * repeats + b"ET\n"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", _pages(4, pages), FONT]
    content_id = 4 + pages
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_id
        )
    objects.append(_stream(content))
    path.write_bytes(_pdf(objects))
    return path


def xobject_bomb(path: Path, pages: int = 20, draws: int = 30, lines: int = 570_000) -> Path:
    """The Form-XObject bomb of issue 19: each page's content is ``/X1 Do`` ``draws`` times
    (210 bytes), and X1 is a Form XObject whose stream inflates to ``lines`` line-drawing
    operators (8 MB) and one line of text. pypdf's extract_text spent 244 s on one page."""
    form = b"0 0 m 1 1 l S\n" * lines + b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        _pages(6, pages),
        _stream(
            form,
            b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
            b"/Resources << /Font << /F1 4 0 R >> >> ",
        ),
        FONT,
        _stream(b"/X1 Do\n" * draws),
    ]
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /XObject << /X1 3 0 R >> >> /Contents 5 0 R >>"
        )
    path.write_bytes(_pdf(objects))
    return path


def slow_pdf(path: Path, pages: int = 8, lines: int = 130_000) -> Path:
    """A PDF that slips under the size guards and still takes pypdf seconds a page: each
    page draws ``lines`` line segments (1.8 MB of operators, under the 2 MB a page) and
    shows one word."""
    content = b"0 0 m 1 1 l S\n" * lines + b"BT /F1 12 Tf 72 720 Td (Slow) Tj ET\n"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", _pages(4, pages), FONT]
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (4 + pages)
        )
    objects.append(_stream(content))
    path.write_bytes(_pdf(objects))
    return path


def make_hostile_corpus(root: Path, big_line_mb: float = 5.0) -> dict[str, Path]:
    """Write hostile files (and two good ones) under ``root``; returns name -> path."""
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def put(name: str, data: bytes | str) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        files[name] = path
        return path

    put("good.txt", GOOD_TEXT)
    put("deep/" + "/".join(f"d{i}" for i in range(40)) + "/good-deep.md", "# Deep\n\n" + GOOD_TEXT)
    put("binary.txt", os.urandom(4096) + b"\x00" * 64)
    put("empty.txt", b"")
    put("blank.md", "   \n\n\t\n")
    put("latin1.txt", "Caf\xe9 cr\xe8me br\xfbl\xe9e, na\xefve fa\xe7ade.\n".encode("latin-1"))
    put("big-line.txt", "x" * int(big_line_mb * 1_000_000))
    put("broken.html", "<html><head><title>Broken</head><body><div><p>Unclosed <b>tags <i>")
    put("script-only.html", "<html><body><script>alert(1)</script></body></html>")
    put(
        "mixed.jsonl",
        "\n".join(
            [
                json.dumps({"text": GOOD_TEXT, "url": "https://example.org/good"}),
                "{not json",
                json.dumps({"title": "no text"}),
                json.dumps([1, 2, 3]),
                json.dumps({"text": 42}),
            ]
        ),
    )
    put("fake.pdf", b"%PDF-1.4\nthis is not really a pdf\n")
    files["bomb.pdf"] = pdf_bomb(root / "bomb.pdf")
    files["xobject-bomb.pdf"] = xobject_bomb(root / "xobject-bomb.pdf")
    put("report.docx", b"PK\x03\x04 not really a docx")
    with zipfile.ZipFile(root / "archive.zip", "w") as z:
        z.writestr("inner.txt", GOOD_TEXT)
    files["archive.zip"] = root / "archive.zip"
    loop = root / "loop"
    loop.mkdir(exist_ok=True)
    (loop / "self").symlink_to(loop, target_is_directory=True)
    (root / "self-link.txt").symlink_to(root / "self-link.txt")
    (root / "loop-link").symlink_to(root / "loop-link")
    (root / "dangling.md").symlink_to(root / "gone.md")
    files["loop/self"] = loop / "self"
    for name in ("self-link.txt", "loop-link", "dangling.md"):
        files[name] = root / name
    return files
