"""Uploads: limits, and names that never leave the uploads folder."""

import doctest
import os

import pytest

import ui.uploads
from ui.uploads import MAX_FILES, Upload, accept, safe_name, store, uploads_dir

pytestmark = pytest.mark.unit


def test_docstring_examples():
    assert doctest.testmod(ui.uploads).failed == 0


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "/abs/path.txt",
        "..",
        ".",
        "",
        ".hidden.txt",
        "a/../../b.md",
        "x\x00y.txt",
        "new\nline.html",
        "~/.ssh/authorized_keys",
        "$(rm -rf ~).txt",
        "con.txt",
        "ａｂｃ／．．／ｄ.txt",  # full-width slash and dots normalise to ASCII
        "x" * 500 + ".pdf",
    ],
)
def test_safe_names_stay_in_the_folder(name, tmp_path):
    safe = safe_name(name)
    assert safe and safe not in (".", "..")
    assert "/" not in safe and "\\" not in safe and not safe.startswith((".", "-", "~"))
    assert all(ch.isalnum() or ch in "._-" for ch in safe)
    assert len(safe) <= 111
    assert (tmp_path / safe).resolve().parent == tmp_path.resolve()


def test_suffix_is_kept_lower_case():
    assert safe_name("Report FINAL.PDF") == "Report_FINAL.pdf"
    assert safe_name("notes") == "notes"


def test_store_replaces_a_symlink_instead_of_following_it(tmp_path):
    folder = uploads_dir(tmp_path / "home", tmp_path / "home" / "uploads")
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    (folder / "a.txt").symlink_to(outside)
    src = tmp_path / "a.txt"
    src.write_text("upload")
    dest = store(Upload(src, "a.txt"), folder)
    assert dest == folder / "a.txt" and not dest.is_symlink()
    assert dest.read_text() == "upload" and outside.read_text() == "precious"
    assert [p.name for p in folder.iterdir()] == ["a.txt"]  # no temp file left behind


def test_an_uploads_folder_linked_outside_the_data_directory_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", home / "uploads")
    with pytest.raises(ValueError, match="outside the data directory"):
        uploads_dir(home, home / "uploads")


def test_accept_applies_type_size_and_count_limits(tmp_path):
    folder = uploads_dir(tmp_path / "home", tmp_path / "home" / "uploads")
    sent = tmp_path / "sent"
    sent.mkdir()

    def upload(name: str, data: bytes) -> Upload:
        path = sent / f"{len(list(sent.iterdir()))}"
        path.write_bytes(data)
        return Upload(path, name)

    files = [
        upload("../good.txt", b"An article."),
        upload("evil.exe", b"MZ"),
        upload("empty.md", b""),
        upload("big.html", b"x" * 101),
        *[upload(f"n{i}.txt", b"more") for i in range(MAX_FILES)],
    ]
    stored, refused = accept(files, folder, max_bytes=100)
    names = [name for name, _ in stored]
    assert names[0] == "../good.txt" and stored[0][1] == folder / "good.txt"
    assert len(stored) == MAX_FILES - 3
    reasons = {name: result.error for name, result in refused}
    assert all(result.status == "failed" for _, result in refused)
    assert reasons["evil.exe"].startswith("unsupported type .exe")
    assert reasons["empty.md"] == "empty file"
    assert "the limit is 0.0001 MB" in reasons["big.html"]
    assert sum("too many files" in r for r in reasons.values()) == 4
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["good.txt", *[f"n{i}.txt" for i in range(MAX_FILES - 4)]]
    )
