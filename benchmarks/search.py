"""Search benchmark: index 100,000 synthetic lessons (10 per course), then time 1,000 queries.

    python benchmarks/search.py [--lessons 100000] [--queries 1000]

Titles and bodies are drawn from jieba's own dictionary (common words), so segmentation works
as hard as on real text; documents are made by ``lms.search.index.make_document``, as the
worker makes them. Prints the build time, the index size, and the p50/p99 latency of
``lms.search.query.search`` (both facets, snippets of the page's hits, and all) with the
process's reused searcher, over queries of four kinds: a word, two words, the pinyin of a word,
a quoted phrase.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from lms import create_app
from lms.search.analysis import dictionary_text, jieba_frequencies, title_pinyin
from lms.search.index import (
    close_searchers,
    folder_digest,
    make_document,
    new_version,
    open_index,
    prepare,
    search_root,
    searcher,
    swap_in,
)
from lms.search.query import search

LESSONS_PER_COURSE = 10
CATEGORIES = ["农村实用技术", "健康养生", "法制教育", "非遗传承", "数字素养", "老年教育"]
TOWNS = ["福集镇", "嘉明镇", "喻寺镇", "得胜镇", "牛滩镇", "兆雅镇", "玄滩镇", "太伏镇"]


def word_list(size: int = 5000) -> list[str]:
    """The most frequent two- to four-character words of jieba's dictionary."""
    freq = jieba_frequencies()
    words = [w for w, f in freq.items() if f and 2 <= len(w) <= 4 and w[0] >= "\u4e00"]
    words.sort(key=lambda w: -freq[w])
    return words[:size]


def sentence(rng: random.Random, words: list[str], n: int) -> str:
    return "，".join("".join(rng.choices(words, k=3)) for _ in range(n // 3)) + "。"


def build(lessons: int, rng: random.Random, words: list[str]) -> tuple[float, int]:
    courses = lessons // LESSONS_PER_COURSE
    root = search_root()
    started = time.perf_counter()
    folder = new_version(root, dictionary_text())  # the project's words (no database here)
    digest = folder_digest(folder)
    writer = open_index(folder).writer(limitmb=256)
    for course_id in range(1, courses + 1):
        title = "".join(rng.choices(words[:2000], k=3))
        lessons = [
            ("".join(rng.choices(words, k=2)), sentence(rng, words, 18))
            for _ in range(LESSONS_PER_COURSE)
        ]
        town = TOWNS[course_id % len(TOWNS)]
        writer.add_document(
            **make_document(
                course_id=course_id,
                title=title,
                summary=sentence(rng, words, 12),
                lessons=lessons,
                teachers=["李老师"],
                provider=town,
                town=town,
                category_id=course_id % 6 + 1,
                category=CATEGORIES[course_id % 6],
                digest=digest,
            )
        )
        if course_id % 1000 == 0:
            print(f"  {course_id * LESSONS_PER_COURSE:,} lessons", flush=True)
    writer.commit()
    swap_in(root, folder)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in folder.iterdir())
    return seconds, size


def queries(count: int, rng: random.Random, words: list[str]) -> list[str]:
    made = []
    for n in range(count):
        kind = n % 4
        if kind == 0:
            made.append(rng.choice(words[:2000]))
        elif kind == 1:
            made.append(" ".join(rng.sample(words[:1000], 2)))
        elif kind == 2:
            made.append(title_pinyin(rng.choice(words[:2000]))[0].split()[-1])
        else:
            made.append(f'"{rng.choice(words[:1000])}{rng.choice(words[:1000])}"')
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "LMS_INSTANCE_DIR": str(Path(tmp) / "instance"),
                "LMS_SEARCH_DIR": str(Path(tmp) / "search"),
            }
        )
        with app.app_context():
            prepare()
            words = word_list()
            print(f"indexing {args.lessons:,} lessons ({args.lessons // 10:,} courses)…")
            seconds, size = build(args.lessons, rng, words)
            print(f"build: {seconds:.1f} s ({args.lessons / seconds:,.0f} lessons/s)")
            print(f"index size: {size / 1024**2:.1f} MiB")
            searcher()  # open once; every query below reuses it
            latencies, hits = [], 0
            for q in queries(args.queries, rng, words):
                started = time.perf_counter()
                found = search(q, per_page=20)
                latencies.append((time.perf_counter() - started) * 1000)
                hits += found.total > 0
            latencies.sort()
            p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
            print(
                f"queries: {len(latencies)}, with hits: {hits}; "
                f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, "
                f"max {latencies[-1]:.1f} ms"
            )
            close_searchers()


if __name__ == "__main__":
    main()
