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


def pdf_bomb(path: Path, repeats: int = 1_000_000, pages: int = 1) -> Path:
    """A small PDF whose FlateDecode content stream expands to millions of characters of text
    (``repeats`` text-showing operators of ten letters per page)."""
    content = b"BT /F1 12 Tf 72 720 Td\n" + b"(aaaaaaaaa ) Tj\n" * repeats + b"ET\n"
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (4 + i) for i in range(pages))
        + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    content_id = 4 + pages
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_id
        )
    objects.append(
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"
    )
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
    path.write_bytes(bytes(out))
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
    put("report.docx", b"PK\x03\x04 not really a docx")
    with zipfile.ZipFile(root / "archive.zip", "w") as z:
        z.writestr("inner.txt", GOOD_TEXT)
    files["archive.zip"] = root / "archive.zip"
    loop = root / "loop"
    loop.mkdir(exist_ok=True)
    (loop / "self").symlink_to(loop, target_is_directory=True)
    (root / "self-link.txt").symlink_to(root / "self-link.txt")
    files["loop/self"] = loop / "self"
    files["self-link.txt"] = root / "self-link.txt"
    return files
