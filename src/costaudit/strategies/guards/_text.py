"""How the guards read a prompt: words, numerals, folding, memoised."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# Words, with identifiers kept whole: `load_dataset()`, os.path.join, gpt-4o.
_WORD = re.compile(r"`[^`\n]+`|[\w'$€£%°]+(?:[.\-/][\w']+)*(?:\(\))?")
_NUMERAL = re.compile(r"[-+]?\d[\d,_]*(?:\.\d+)?")
# Curly quotes and apostrophes become straight ones before any matching.
_STRAIGHTEN = str.maketrans({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"'})


# Each lookup compares one prompt with several cached ones and a cached
# prompt meets many lookups, so what a guard reads from a text is computed
# once and kept, up to this many texts per reader.
_MEMO = 8192


def _plain(text: str) -> str:
    return text.translate(_STRAIGHTEN)


def _fold(word: str) -> str:
    """Lower-case; strip quoting, call parentheses and possessives."""
    word = word.strip("`").lower().replace("()", "")
    return word.removesuffix("'s").strip("'")


@functools.lru_cache(maxsize=_MEMO)
def _folded(text: str) -> tuple[str, ...]:
    return tuple(w for w in (_fold(w) for w in _WORD.findall(_plain(text))) if w)


def _is_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(*-#>")
    return not before or before[-1] in ".!?:;\n" or before[-1].isdigit()


def _fmt(values: Iterable[float | str]) -> str:
    shown = sorted(f"{v:g}" if isinstance(v, float) else v for v in values)
    return "{" + ", ".join(shown) + "}" if shown else "none"
