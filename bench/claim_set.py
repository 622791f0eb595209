"""Build the labelled claim set of ``bench/claim_check.py`` from split-A sentences.

Split A is eight Wikipedia articles of the SQuAD v2.0 development set (Rajpurkar, Jia and
Liang, 2018, ACL; CC BY-SA 4.0). Every item is a claim, the sentence it is checked
against (the sentence of split A it was made from, with its paragraph for the harder test)
and its label: ``faithful`` (the sentence itself, a dropped clause, reordered clauses,
light rewording) or ``perturbed`` (a changed number, date or name, swapped subject and
object, an added or a removed negation). Deterministic (seeded); the output is committed
with the hand-written items (``bench/data/claims_handwritten.jsonl``) beside it.

    python bench/claim_set.py ../shared/datasets/squad-v2-dev-a.json  # -> data/claims_auto.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.text import split_sentences  # noqa: E402

OUT = ROOT / "bench" / "data" / "claims_auto.jsonl"
PER_TYPE = 50
# Articles whose items tune the check; the others are held out.
TUNE = ("Normans", "Huguenot", "1973_oil_crisis", "Packet_switching")

MONTHS = (
    "January February March April May June July August September October November December"
).split()
AUX = re.compile(r"\b(is|was|were|are|has|had|have|can|could|will|would|does|did|may|must)\b")
YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
NUMBER_WORDS = "two three four five six seven eight nine ten twelve twenty hundred".split()
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][^\W\d_]+(?:\s+[A-Z][^\W\d_]+)*")
COMMON_FIRST = frozenset(
    "The A An It Its This These Those There Their Some Many Most Other".split()
)
FRONTED = re.compile(
    r"^(In|On|During|After|Before|By|From|Since|Under|Following) ([^,]{3,60}), (.+)$"
)
REWORD = {
    "began": "started",
    "begin": "start",
    "large": "big",
    "many": "numerous",
    "about": "around",
    "however": "but",
    "important": "significant",
    "used": "employed",
    "main": "principal",
    "often": "frequently",
    "also": "additionally",
    "built": "constructed",
    "received": "got",
    "became": "turned into",
    "help": "assist",
    "helped": "assisted",
    "called": "named",
    "known": "recognised",
    "largest": "biggest",
    "several": "a number of",
}


def sentences(path: Path) -> list[dict]:
    data = json.loads(path.read_text())
    out = []
    for article in data["data"]:
        for p in article["paragraphs"]:
            context = p["context"]
            for s, e in split_sentences(context):
                text = context[s:e]
                if 50 <= len(text) <= 260 and text.endswith(".") and text.count('"') == 0:
                    out.append(
                        {"article": article["title"], "sentence": text, "paragraph": context}
                    )
    return out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def dropped_clause(s: str, rnd: random.Random) -> str | None:
    parts = re.split(r", (?:which|who|where|while|although|and|but|as)? ?", s[:-1])
    if len(parts) < 2:
        return None
    keep = parts[0] if len(parts[0].split()) >= 5 and not FRONTED.match(s) else None
    return keep + "." if keep else None


def reordered(s: str, rnd: random.Random) -> str | None:
    m = FRONTED.match(s[:-1])
    if m:
        head, phrase, rest = m.groups()
        return f"{_cap(rest)} {head.lower()} {phrase}."
    first = s.split(" ", 1)[0]
    m = re.match(r"^(.{20,}?) (in|on|during|after|by) ((?:the )?\d{4}|[A-Z][a-z]+ \d{4})\.$", s)
    if m:
        rest, head, phrase = m.groups()
        lowered = rest[0].lower() + rest[1:] if first in COMMON_FIRST else rest
        return f"{_cap(head)} {phrase}, {lowered}."
    return None


def reworded(s: str, rnd: random.Random) -> str | None:
    words = s.split(" ")
    hits = [i for i, w in enumerate(words) if w.lower().strip(",.") in REWORD]
    if not hits:
        return None
    out = list(words)
    for i in hits[:2]:
        core = out[i].strip(",.")
        new = REWORD[core.lower()]
        out[i] = out[i].replace(core, _cap(new) if core[0].isupper() else new)
    return " ".join(out)


def changed_number(s: str, rnd: random.Random) -> str | None:
    nums = [m for m in NUMBER.finditer(s) if not YEAR.fullmatch(m.group())]
    if nums:
        m = rnd.choice(nums)
        digits = m.group().replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            return None
        new = value * rnd.choice([2, 3]) if value < 10 else value + rnd.choice([1, 5, 10, 100])
        text = (
            f"{new:g}" if "." in digits else f"{int(new):,}" if "," in m.group() else str(int(new))
        )
        return s[: m.start()] + text + s[m.end() :]
    words = [w for w in NUMBER_WORDS if re.search(rf"\b{w}\b", s)]
    if words:
        w = words[0]
        other = rnd.choice([x for x in NUMBER_WORDS if x != w])
        return re.sub(rf"\b{w}\b", other, s, count=1)
    return None


def changed_date(s: str, rnd: random.Random) -> str | None:
    years = list(YEAR.finditer(s))
    if years:
        m = rnd.choice(years)
        new = int(m.group()) + rnd.choice([-10, -3, -1, 1, 2, 7])
        return s[: m.start()] + str(new) + s[m.end() :]
    months = [mo for mo in MONTHS if re.search(rf"\b{mo}\b", s)]
    if months:
        other = rnd.choice([mo for mo in MONTHS if mo != months[0]])
        return re.sub(rf"\b{months[0]}\b", other, s, count=1)
    return None


def changed_name(s: str, rnd: random.Random, names: list[str]) -> str | None:
    found = [m for m in NAME.finditer(s) if m.group() not in MONTHS]
    if not found:
        return None
    m = rnd.choice(found)
    pool = [n for n in names if n.lower() not in s.lower() and n not in MONTHS]
    if not pool:
        return None
    return s[: m.start()] + rnd.choice(pool) + s[m.end() :]


def swapped(s: str, rnd: random.Random) -> str | None:
    found = [m for m in NAME.finditer(s) if m.group() not in MONTHS]
    for a, b in zip(found, found[1:], strict=False):
        between = s[a.end() : b.start()]
        symmetric = re.search(
            r"\b(and|or|with|between|against|vs|versus|of|from|to)\b|,|\(", between
        )
        verb = re.search(r"\b\w+(ed|s)\b", between)
        if a.group() != b.group() and not symmetric and verb and len(between.split()) <= 4:
            return s[: a.start()] + b.group() + between + a.group() + s[b.end() :]
    return None


def added_negation(s: str, rnd: random.Random) -> str | None:
    if re.search(r"\b(not|never|no)\b|n't", s):
        return None
    m = AUX.search(s)
    if m:
        return s[: m.end()] + " not" + s[m.end() :]
    m = re.search(r"(?<=\s)[a-z]+ed\b", s)
    if m:
        return s[: m.start()] + "never " + s[m.start() :]
    return None


def removed_negation(s: str, rnd: random.Random) -> str | None:
    m = re.search(r" (not|never)\b", s)
    return s[: m.start()] + s[m.end() :] if m else None


FAITHFUL = {"verbatim": lambda s, r: s, "dropped_clause": dropped_clause}
FAITHFUL |= {"reordered": reordered, "reworded": reworded}
PERTURBED = {"number": changed_number, "date": changed_date, "swapped_subject": swapped}
PERTURBED |= {"added_negation": added_negation, "removed_negation": removed_negation}


def build(path: Path, seed: int = 0) -> list[dict]:
    rnd = random.Random(seed)
    pool = sentences(path)
    rnd.shuffle(pool)
    names: dict[str, list[str]] = {}
    for item in pool:
        for m in NAME.finditer(item["sentence"]):
            names.setdefault(item["article"], []).append(m.group())
    items = []
    makers = {**FAITHFUL, **PERTURBED}
    makers["name"] = None
    for kind in makers:
        made = 0
        for item in pool:
            if made >= PER_TYPE:
                break
            s = item["sentence"]
            if kind == "name":
                claim = changed_name(s, rnd, sorted(set(names[item["article"]])))
            else:
                claim = makers[kind](s, rnd)
            if not claim or claim == s and kind != "verbatim":
                continue
            label = "faithful" if kind in FAITHFUL else "perturbed"
            split = "tune" if item["article"] in TUNE else "held-out"
            items.append({"type": kind, "label": label, "split": split, "claim": claim, **item})
            made += 1
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    items = build(args.squad)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(items)} items -> {args.out}")


if __name__ == "__main__":
    main()
