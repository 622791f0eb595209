"""Conversations kept on disk, per browser (or per user with ``--auth``), so a chat survives
a reload and a server restart.

A chat is data, not HTML: its questions and the ``Answer`` records (without the retrieved
passages), re-rendered by ``ui.render`` when it is opened, so a chat saved before a change of
look shows in the new look. Files live under ``RAG_HOME/chats/<owner>/<chat id>.json``
(owner: a digest of the user name or of the browser's random id, never the name itself) and
are written atomically. Everything is bounded: turns per chat, chats and bytes per owner,
and owners (the least recently used are removed first).

>>> import tempfile
>>> store = ChatStore(Path(tempfile.mkdtemp()))
>>> turn = {"question": "Who?", "answer": {"text": "Ann [1]", "citations": []}}
>>> chat = store.save("browser:1234", None, "articles", [turn])
>>> [c.title for c in store.list("browser:1234")], store.list("user:bob")
(['Who?'], [])
>>> store.load("browser:1234", chat.id).turns[0]["question"]
'Who?'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MAX_TURNS = 40  # per chat; older turns are dropped first
MAX_CHATS = 50  # per owner; the least recently updated are dropped first
MAX_OWNER_BYTES = 2_000_000  # per owner, all chats
MAX_OWNERS = 200  # browsers and users; the least recently active are dropped first
MAX_TITLE_CHARS = 80
_CHAT_ID = re.compile(r"^[0-9a-f]{16}$")
_BROWSER_ID = re.compile(r"^[0-9a-f]{32}$")


def new_browser_id() -> str:
    return secrets.token_hex(16)


def owner_of(username: str | None, browser_id: object) -> str | None:
    """Whose chats these are: the logged-in user, else the browser (its random id); None
    for a browser id that is not one of ours.

    >>> owner_of("ann", None), owner_of(None, "0" * 32), owner_of(None, "../etc")
    ('user:ann', 'browser:00000000000000000000000000000000', None)
    """
    if username:
        return f"user:{username}"
    if isinstance(browser_id, str) and _BROWSER_ID.match(browser_id):
        return f"browser:{browser_id}"
    return None


def title_of(question: str) -> str:
    """A chat's name: its first question, on one line, cut at a word.

    >>> title_of("How much   does SoftBank pay\\nOpenAI?")
    'How much does SoftBank pay OpenAI?'
    >>> len(title_of("word " * 40)) <= MAX_TITLE_CHARS
    True
    """
    text = " ".join(question.split())
    if len(text) <= MAX_TITLE_CHARS:
        return text
    cut = text[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0]
    return cut + "…"


@dataclass
class Chat:
    id: str
    title: str
    collection: str
    created: float
    updated: float
    turns: list[dict] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


class ChatStore:
    """The saved chats under one folder (``RAG_HOME/chats``)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = threading.Lock()

    def _folder(self, owner: str) -> Path:
        return self.root / hashlib.sha256(owner.encode("utf-8")).hexdigest()[:32]

    def list(self, owner: str | None) -> list[Chat]:
        """The owner's chats, most recently updated first (turns not loaded)."""
        if owner is None:
            return []
        chats = []
        for path in self._folder(owner).glob("*.json"):
            chat = self._read(path)
            if chat is not None:
                chat.turns = []
                chats.append(chat)
        return sorted(chats, key=lambda c: c.updated, reverse=True)

    def load(self, owner: str | None, chat_id: object) -> Chat | None:
        if owner is None or not isinstance(chat_id, str) or not _CHAT_ID.match(chat_id):
            return None
        return self._read(self._folder(owner) / f"{chat_id}.json")

    def save(
        self, owner: str | None, chat_id: str | None, collection: str, turns: list[dict]
    ) -> Chat | None:
        """Write the chat (a new one when ``chat_id`` is None or unknown); returns it."""
        if owner is None or not turns:
            return None
        with self._lock:
            now = time.time()
            old = self.load(owner, chat_id)
            chat = old or Chat(secrets.token_hex(8), title_of(turns[0]["question"]), "", now, now)
            chat.collection, chat.updated = collection, now
            chat.turns = list(turns)[-MAX_TURNS:]
            folder = self._folder(owner)
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(folder / f"{chat.id}.json", chat.to_json())
            self._bound(folder)
            self._bound_owners(keep=folder)
        return chat

    def delete(self, owner: str | None, chat_id: object) -> bool:
        if self.load(owner, chat_id) is None:
            return False
        with self._lock:
            (self._folder(owner) / f"{chat_id}.json").unlink(missing_ok=True)
        return True

    # ----- bounds -------------------------------------------------------------------------
    def _bound(self, folder: Path) -> None:
        """At most MAX_CHATS chats and MAX_OWNER_BYTES bytes, dropping the oldest."""
        files = sorted(folder.glob("*.json"), key=_mtime, reverse=True)
        total = 0
        for n, path in enumerate(files):
            total += _size(path)
            if n >= MAX_CHATS or (n > 0 and total > MAX_OWNER_BYTES):
                path.unlink(missing_ok=True)

    def _bound_owners(self, keep: Path) -> None:
        owners = sorted((p for p in self.root.iterdir() if p.is_dir()), key=_mtime, reverse=True)
        for folder in owners[MAX_OWNERS:]:
            if folder != keep:
                shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _read(path: Path) -> Chat | None:
        """A chat file, or None if it is missing or not one of ours (never raises)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            chat = Chat(**{k: data[k] for k in Chat.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(chat.turns, list) or not _CHAT_ID.match(str(chat.id)):
            return None
        return chat


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        os.utime(path.parent)  # the owner was active now (for MAX_OWNERS)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
