"""Chinese text analysis for the index: jieba segmentation, traditional → simplified, pinyin.

Whoosh's own analyzers split on spaces and punctuation, so a Chinese sentence would be one long
"word" that no query matches. Here every text is converted to simplified characters (zhconv),
segmented by jieba, and indexed with its precise words at consecutive positions (so phrases
work), plus the shorter dictionary words and single characters inside each word at the same
position (so 猪 finds 生猪养殖). Queries are segmented precisely.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import jieba
import zhconv
from pypinyin import Style, lazy_pinyin
from whoosh.analysis import LowercaseFilter, RegexTokenizer, Token, Tokenizer

from lms.core.private import make_private

_setup_lock = threading.Lock()
_ready = False
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w", re.UNICODE)


def setup_jieba(cache_dir: str | Path | None = None) -> None:
    """Load jieba's dictionary once per process, caching the parsed dictionary in *cache_dir*
    (the instance folder) rather than the shared temporary folder."""
    global _ready
    if _ready:
        return
    with _setup_lock:
        if _ready:
            return
        jieba.setLogLevel(logging.WARNING)
        if cache_dir is not None:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(cache_dir)
            jieba.dt.cache_file = "jieba.cache"
        jieba.initialize()
        if cache_dir is not None:
            make_private(Path(cache_dir) / "jieba.cache")
        _load_zhconv()
        _ready = True


def _load_zhconv() -> None:
    # zhconv's own loader leaves its packaged dictionary file open (a ResourceWarning); giving
    # it the file's path makes it use a ``with`` block instead.
    zhconv.zhconv.loaddict(str(Path(zhconv.__file__).parent / "zhcdict.json"))


def simplified(text: str) -> str:
    """*text* in simplified characters, keeping its length (highlights use character offsets)."""
    _load_zhconv()
    converted = zhconv.convert(text, "zh-hans")
    if len(converted) != len(text):  # a phrase mapping changed the length: go char by char
        converted = "".join(zhconv.convert(char, "zh-hans") for char in text)
    return converted


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def words(text: str) -> list[str]:
    """The precise segmentation of *text* (simplified), without spaces and punctuation."""
    setup_jieba()
    return [word for word in jieba.lcut(simplified(text)) if _WORD.search(word)]


class ChineseTokenizer(Tokenizer):
    """jieba segmentation as a Whoosh tokenizer (see the module docstring)."""

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        mode="",
        **kwargs,
    ):
        setup_jieba()
        text = simplified(value)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        position = start_pos
        for word, start, end in jieba.tokenize(text):
            if not _WORD.search(word):
                continue
            pieces = [(word, start, end)]
            if mode != "query" and len(word) > 1:
                pieces += _inner_words(word, start) if has_cjk(word) else _runs(word, start)
            for piece, piece_start, piece_end in pieces:
                token.text = token.original = piece
                token.boost = 1.0
                token.stopped = False
                if positions:
                    token.pos = position
                if chars:
                    token.startchar = start_char + piece_start
                    token.endchar = start_char + piece_end
                yield token
            position += 1


def _inner_words(word: str, start: int) -> list[tuple[str, int, int]]:
    """Dictionary words (2 and 3 characters) and single characters inside *word*."""
    found = []
    frequencies = jieba.dt.FREQ
    for size in (2, 3):
        if len(word) > size:
            for i in range(len(word) - size + 1):
                gram = word[i : i + size]
                if frequencies.get(gram):
                    found.append((gram, start + i, start + i + size))
    found += [(char, start + i, start + i + 1) for i, char in enumerate(word) if has_cjk(char)]
    return found


_RUN = re.compile(r"[A-Za-z]+|[0-9]+")


def _runs(word: str, start: int) -> list[tuple[str, int, int]]:
    """The letter and digit runs of a word such as Python3 (so python finds it too)."""
    runs = [(m.group(), start + m.start(), start + m.end()) for m in _RUN.finditer(word)]
    return runs if len(runs) > 1 else []


def chinese_analyzer():
    return ChineseTokenizer() | LowercaseFilter()


def pinyin_analyzer():
    """Pinyin and initials are indexed and queried as lower-case ASCII words."""
    return RegexTokenizer(r"[A-Za-z0-9]+") | LowercaseFilter()


def title_pinyin(title: str) -> tuple[str, str]:
    """(full pinyin, initials) of *title* as space-separated terms: every syllable, every word
    joined (养殖 → yang zhi yangzhi), adjacent words joined, and the whole title joined; the
    initials likewise (yz, and the whole title's)."""
    syllables: list[str] = []
    joined: list[str] = []
    initials: list[str] = []
    for word in words(title):
        if not has_cjk(word):
            joined.append(word.lower())
            continue
        spoken = [s.lower() for s in lazy_pinyin(word) if s.isascii() and s.isalnum()]
        letters = [s[:1] for s in spoken]
        syllables += spoken
        joined.append("".join(spoken))
        initials.append("".join(letters))
    pairs = [a + b for a, b in zip(joined, joined[1:], strict=False)]
    initial_pairs = [a + b for a, b in zip(initials, initials[1:], strict=False)]
    full = [*syllables, *joined, *pairs, "".join(joined)]
    short = [*initials, *initial_pairs, "".join(initials)]
    return " ".join(full), " ".join(short)


def query_pinyin(text: str) -> str:
    """The toneless pinyin of *text*, joined (样植 → yangzhi), for near-miss suggestions."""
    return "".join(s.lower() for s in lazy_pinyin(simplified(text), style=Style.NORMAL))
