"""Chinese text analysis for the index: jieba segmentation with the words of community
education, traditional → simplified, CJK bigrams, and the pinyin of each word.

Whoosh's own analyzers split on spaces and punctuation, so a Chinese sentence would be one long
"word" that no query matches. Here every text is converted to simplified characters (zhconv),
segmented by jieba, and indexed with its precise words at consecutive positions (so phrases
work), plus the shorter dictionary words and single characters inside each word at the same
position (so 猪 finds 生猪养殖). Queries are segmented precisely.

The dictionary: jieba's own, plus the project's ``words.txt`` (categories, policy words, farming,
health, crafts, digital life, the towns), plus the words county administrators add. Each index
folder keeps the word list it was built with, and its schema names that list by digest, so a
query is always cut the way the index it runs on was cut. Each list gets a private
``jieba.Tokenizer`` (never jieba's global one), built from a copy of one base tokenizer.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jieba
import zhconv
from flask_babel import lazy_gettext as _l
from pypinyin import Style, lazy_pinyin
from whoosh.analysis import LowercaseFilter, RegexTokenizer, Token, Tokenizer

from lms.core.private import make_private

BASE_WORDS = Path(__file__).with_name("words.txt")
MAX_WORD_CHARS = 20
MAX_WORDS = 5000
DEFAULT_FREQ = 3000  # enough for a listed word to win over the pieces jieba would cut it into
MAX_FREQ = 10_000_000
PINYIN_PREFIX_SYLLABLES = 8

_lock = threading.Lock()
_cache_dir: Path | None = None
_base: jieba.Tokenizer | None = None
_texts: dict[str, str] = {}  # digest -> word list text, registered by whoever opens an index
_tokenizers: OrderedDict[str, jieba.Tokenizer] = OrderedDict()
KEEP_TOKENIZERS = 3
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"\w", re.UNICODE)
_VALID_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9·]+")


def setup_jieba(cache_dir: str | Path | None = None) -> None:
    """Where jieba caches its parsed dictionary: the instance folder (never the source tree);
    without one, the system's temporary folder."""
    global _cache_dir
    if cache_dir is not None and _cache_dir is None:
        _cache_dir = Path(cache_dir)
    _load_zhconv()


def _base_tokenizer() -> jieba.Tokenizer:
    global _base
    if _base is None:
        with _lock:
            if _base is None:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                folder = _cache_dir or Path(tempfile.gettempdir())
                folder.mkdir(parents=True, exist_ok=True)
                tokenizer.tmp_dir = str(folder)
                tokenizer.cache_file = "jieba.cache"
                tokenizer.initialize()
                if _cache_dir is not None:
                    make_private(folder / "jieba.cache")
                _base = tokenizer
    return _base


def jieba_frequencies() -> dict[str, int]:
    """jieba's own dictionary (word → frequency), without the project's words."""
    return _base_tokenizer().FREQ


# The word lists --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadLine:
    number: int
    line: str
    reason: str  # a lazy translation


def parse_words(text: str) -> tuple[list[tuple[str, int | None]], list[BadLine]]:
    """The words of a word list (``word`` or ``word frequency`` a line; blank lines and lines
    starting with # are skipped), and the lines that are not words, each with its reason."""
    words: dict[str, int | None] = {}
    bad: list[BadLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        word = simplified(parts[0])
        if len(parts) > 2:
            bad.append(BadLine(number, line, _l("一行只能写一个词，可以在后面加一个数字表示词频")))
        elif len(word) < 2 or len(word) > MAX_WORD_CHARS:
            bad.append(BadLine(number, line, _l("词的长度应为 2 到 %(n)s 个字", n=MAX_WORD_CHARS)))
        elif not _VALID_WORD.fullmatch(word) or not has_cjk(word):
            bad.append(
                BadLine(number, line, _l("词只能由汉字、字母和数字组成，并且至少有一个汉字"))
            )
        elif len(parts) == 2 and not (parts[1].isascii() and parts[1].isdigit()):
            bad.append(BadLine(number, line, _l("词后面的词频应为正整数")))
        elif len(parts) == 2 and not 1 <= int(parts[1]) <= MAX_FREQ:
            bad.append(BadLine(number, line, _l("词频应在 1 到 %(n)s 之间", n=MAX_FREQ)))
        else:
            words[word] = int(parts[1]) if len(parts) == 2 else None
    if len(words) > MAX_WORDS:
        bad.append(BadLine(0, "", _l("词表最多 %(n)s 个词", n=MAX_WORDS)))
    return list(words.items()), bad


def base_words() -> str:
    return BASE_WORDS.read_text(encoding="utf-8")


def dictionary_text(extra: list[str] | None = None) -> str:
    """The word list an index is built with: the project's words.txt, then *extra* words (the
    administrators'), one a line."""
    return base_words().rstrip("\n") + "\n" + "".join(f"{word}\n" for word in extra or [])


def register(text: str) -> str:
    """Make the word list *text* known to this process; its digest names it in a schema."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    _texts.setdefault(digest, text)
    return digest


def tokenizer(digest: str | None = None) -> jieba.Tokenizer:
    """The private jieba tokenizer of the word list *digest* (registered before); the project's
    words.txt alone when *digest* is None or unknown."""
    if digest is None or digest not in _texts:
        digest = register(dictionary_text())
    found = _tokenizers.get(digest)
    if found is not None:
        return found
    base = _base_tokenizer()
    with _lock:
        found = _tokenizers.get(digest)
        if found is not None:
            return found
        made = jieba.Tokenizer()
        made.tmp_dir, made.cache_file = base.tmp_dir, base.cache_file
        made.FREQ, made.total, made.initialized = dict(base.FREQ), base.total, True
        words, _bad = parse_words(_texts[digest])  # bad lines never get this far; skip them
        for word, freq in words:
            made.add_word(word, freq or max(DEFAULT_FREQ, made.suggest_freq(word)))
        _tokenizers[digest] = made
        while len(_tokenizers) > KEEP_TOKENIZERS:
            _tokenizers.popitem(last=False)
        return made


# Characters -------------------------------------------------------------------------------------


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


_char_table: dict[int, str] | None = None


def simplified_chars(text: str) -> str:
    """*text* with each traditional character replaced by its simplified one (zhconv's
    one-character mappings, through ``str.translate``): same length, microseconds for a page
    of text, for finding words in a snippet; :func:`simplified` also knows phrases."""
    global _char_table
    if _char_table is None:
        _load_zhconv()
        pairs = zhconv.zhconv.zhcdicts["zh2Hans"].items()
        _char_table = str.maketrans({k: v for k, v in pairs if len(k) == 1 and len(v) == 1})
    return text.translate(_char_table)


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def words(text: str, digest: str | None = None) -> list[str]:
    """The precise segmentation of *text* (simplified), without spaces and punctuation."""
    return [w for w in tokenizer(digest).lcut(simplified(text)) if _WORD.search(w)]


# Analyzers ---------------------------------------------------------------------------------------


class ChineseTokenizer(Tokenizer):
    """jieba segmentation as a Whoosh tokenizer (see the module docstring). *digest* names the
    word list; it is pickled with the schema, so an index keeps cutting text its own way."""

    def __init__(self, digest: str | None = None):
        self.digest = digest

    def __eq__(self, other):
        return type(other) is type(self) and getattr(other, "digest", None) == self.digest

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
        jieba_tokenizer = tokenizer(getattr(self, "digest", None))
        text = simplified(value)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        position = start_pos
        for word, start, end in jieba_tokenizer.tokenize(text):
            if not _WORD.search(word):
                continue
            pieces = [(word, start, end)]
            if mode != "query" and len(word) > 1:
                if has_cjk(word):
                    pieces += _inner_words(word, start, jieba_tokenizer.FREQ)
                else:
                    pieces += _runs(word, start)
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


def _inner_words(word: str, start: int, frequencies: dict) -> list[tuple[str, int, int]]:
    """Dictionary words (2 to 4 characters) and single characters inside *word*."""
    found = []
    for size in (2, 3, 4):
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


class BigramTokenizer(Tokenizer):
    """Every two-character run of the Chinese in a text, at consecutive positions (so a query's
    bigrams can be searched as a phrase); a lone character stands for itself."""

    def __call__(self, value, positions=False, chars=False, start_pos=0, mode="", **kwargs):
        token = Token(positions, chars, mode=mode, **kwargs)
        position = start_pos
        for run in _CJK_RUN.findall(simplified(value)):
            grams = [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
            for gram in grams:
                token.text = token.original = gram
                token.boost = 1.0
                token.stopped = False
                if positions:
                    token.pos = position
                yield token
                position += 1
            position += 1  # runs are not adjacent


def bigrams(text: str) -> list[list[str]]:
    """The bigrams of each Chinese run of *text* (runs of one character left out)."""
    runs = _CJK_RUN.findall(simplified(text))
    return [[run[i : i + 2] for i in range(len(run) - 1)] for run in runs if len(run) > 1]


def chinese_analyzer(digest: str | None = None):
    return ChineseTokenizer(digest) | LowercaseFilter()


def bigram_analyzer():
    return BigramTokenizer()


def pinyin_analyzer():
    """Pinyin and initials are indexed and queried as lower-case ASCII words."""
    return RegexTokenizer(r"[A-Za-z0-9]+") | LowercaseFilter()


# Pinyin ---------------------------------------------------------------------------------------


def _syllables(word: str) -> list[str]:
    return [s.lower() for s in lazy_pinyin(word) if s.isascii() and s.isalnum()]


def pinyin_terms(
    texts: list[str], digest: str | None = None, *, title: bool = True
) -> tuple[str, str]:
    """(full pinyin, initials) of *texts* as space-separated terms.

    For a *title*: from the start of every word (and of every dictionary word inside a longer
    one), each syllable-aligned prefix of the syllables from there on, up to eight (老年人高血压 →
    lao laonian laonianren laonianrengao …, gao gaoxue gaoxueya …), the initials likewise from
    two letters (ln lnr …, gx gxy …), every syllable alone, and the whole title joined.

    For lesson titles and categories (``title=False``): the same prefixes, but each ending
    within its word and of two syllables or more (智能手机 → zhineng zhinengshou zhinengshouji,
    zn zns znsj); crossing words or alone they would make the index much larger and find too
    much."""
    full: set[str] = set()
    short: set[str] = set()
    frequencies = tokenizer(digest).FREQ
    for text in texts:
        syllables: list[str] = []
        starts: dict[int, int] = {}  # syllable where a word starts -> where its word ends
        for word in words(text, digest):
            if not has_cjk(word):
                starts[len(syllables)] = len(syllables) + 1
                syllables.append(word.lower())
                continue
            spoken = [[s] for s in _syllables(word)]  # in context: 银行 is yinhang
            if len(spoken) != len(word):  # letters or digits inside: one character at a time
                spoken = [_syllables(char) for char in word]
            offsets = []
            for part in spoken:
                offsets.append(len(syllables))
                syllables += part[:1]
            end = len(syllables)
            starts[offsets[0]] = end
            if len(word) > 2:
                for size in (2, 3, 4):
                    for i in range(1, len(word) - size + 1):
                        if frequencies.get(word[i : i + size]):
                            starts.setdefault(offsets[i], end)
        initials = [s[:1] for s in syllables]
        for start, word_end in starts.items():
            if title:
                first, last = start + 1, min(len(syllables), start + PINYIN_PREFIX_SYLLABLES)
            else:
                first, last = start + 2, word_end
            for end in range(first, last + 1):
                full.add("".join(syllables[start:end]))
                if end - start >= 2:
                    short.add("".join(initials[start:end]))
        if title and syllables:
            full.update(syllables)
            full.add("".join(syllables))
            short.add("".join(initials))
    return " ".join(sorted(full)), " ".join(sorted(short))


def title_pinyin(title: str) -> tuple[str, str]:
    """(full pinyin, initials) of one title (see :func:`pinyin_terms`)."""
    return pinyin_terms([title])


def query_pinyin(text: str) -> str:
    """The toneless pinyin of *text*, joined (样植 → yangzhi), for near-miss suggestions."""
    return "".join(s.lower() for s in lazy_pinyin(simplified(text), style=Style.NORMAL))
