"""Whether a prompt's answer can change between two identical requests.

A cache may only answer a repeat when the first answer is still right. It is
not when the prompt asks about the present ("today", "latest", "right now"),
about state outside the conversation (an inbox, the weather, a stock price,
a server's status, a web page) or when the prompt runs on a schedule, whose
whole point is a fresh answer each time.

The rules are regular expressions over the prompt, listed below in plain
sight so a report can say which one fired. English is covered in depth; a
few unambiguous words in German, French, Spanish, Italian, Portuguese,
Russian, Chinese and Japanese are covered too. Text inside code blocks,
inline code, double quotes and quoted lines (``>``) is material the prompt
works on, not what it asks, so it is skipped: ``translate "see you
tomorrow" into French`` stays stable.

Errors lean toward volatile: a missed cache hit costs a call, a wrong hit
serves a stale answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["RULES", "Rule", "Volatility", "assess_volatility"]


@dataclass(frozen=True, slots=True)
class Volatility:
    """Verdict on a prompt, with the reasons a report can show."""

    volatile: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern, the kind of dependence it reveals, and its trigger words.

    The pattern only runs when the lower-cased prompt contains one of the
    triggers: a substring test is many times cheaper than a regex scan, and
    most prompts contain no trigger of most rules. Every text the pattern
    matches contains a trigger, so the shortcut never changes a verdict.
    """

    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...]

    def search(self, lowered: str) -> re.Match[str] | None:
        if any(trigger in lowered for trigger in self.triggers):
            return self.pattern.search(lowered)
        return None


def _split(spec: str) -> tuple[str, ...]:
    """Split a "word | phrase | ..." list, the form the rule tables use."""
    return tuple(term.strip() for term in spec.split("|"))


def _rule(kind: str, pattern: str, triggers: str) -> Rule:
    return Rule(kind, re.compile(pattern, re.IGNORECASE), _split(triggers))


def _words(kind: str, words: str, *, whole_words: bool = True) -> Rule:
    """A rule matching any of ``words``, which are also its triggers."""
    alternatives = "|".join(re.escape(word) for word in _split(words))
    if whole_words:
        alternatives = rf"\b(?:{alternatives})\b"
    return _rule(kind, alternatives, words)


_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_SPAN = r"(?:minutes?|hours?|days?|weeks?|months?|quarters?|years?)"
_SPAN_TRIGGERS = "minute | hour | day | week | month | quarter | year"
_NUMBER = r"(?:\d+|a|an|one|two|three|four|five|six|seven|ten|few|couple of)"
_STATE_NOUNS = (
    r"(?:e-?mails?|mails?|messages|dms|notifications|calendar|agenda|meetings"
    r"|slack|tickets|todos?|to-do list|feeds?|timeline)"
)
_SYSTEMS = (
    r"(?:servers?|builds?|logs?|deploy(?:ment)?s?|pipelines?|ci|site|website"
    r"|services?|cluster|database|db|queues?|disk space|uptime|health"
    r"|pull requests?|prs?|issues|repo|branch|cron jobs?|containers?|pods?)"
)

RULES: tuple[Rule, ...] = (
    # The present and dates counted from it.
    _rule(
        "relative time",
        r"\b(?:today|tonight|tomorrow|yesterday)(?:'s)?\b",
        "today | tonight | tomorrow | yesterday",
    ),
    _rule("relative time", r"(?<=[\w,] )now\b(?!\s*,)", "now"),
    _rule(
        "relative time",
        r"\b(?:right now|just now|as of now|at the moment|at present|currently"
        r"|nowadays|these days|so far)\b",
        "now | moment | present | currently | days | so far",
    ),
    _rule(
        "relative time",
        r"(?<!electric )(?<!alternating )(?<!direct )(?<!ocean )\bcurrent\b",
        "current",
    ),
    _rule(
        "relative time",
        r"\b(?:latest|newest|most recent|recent(?:ly)?|up[- ]to[- ]date"
        r"|real[- ]?time|live (?:score|data|feed|price|results?|stream)s?)\b",
        "latest | newest | recent | date | time | live",
    ),
    _rule(
        "relative time",
        rf"\b(?:this|last|next|coming|past) (?:morning|afternoon|evening|night"
        rf"|weekend|{_SPAN}|{_WEEKDAY})\b",
        f"morning | afternoon | evening | night | {_SPAN_TRIGGERS}",
    ),
    _rule(
        "relative time",
        rf"\b(?:{_NUMBER} {_SPAN} ago|in (?:the )?(?:past|last) (?:{_NUMBER} )?"
        rf"{_SPAN}|since (?:yesterday|last|this|{_WEEKDAY}))\b",
        "ago | past | last | since",
    ),
    _rule(
        "relative time",
        r"\bwhat(?:'s| is) the (?:date|time|day)\b|\bwhat (?:time|day) is it\b",
        "what",
    ),
    # State outside the conversation.
    _words("news", "news | top headlines | trending"),
    _words("messages", "inbox | mailbox | unread"),
    _rule(
        "messages",
        rf"\b(?:my|new|incoming|pending|check|triage|summari[sz]e|read)"
        rf" (?:(?:my|the|new|latest|unread|today's) )?{_STATE_NOUNS}\b",
        "mail | message | dms | notification | calendar | agenda | meeting"
        " | slack | ticket | todo | to-do | feed | timeline",
    ),
    _words("weather", "weather | the forecast"),
    _rule(
        "market data",
        r"\b(?:(?:stock|share|crypto|bitcoin|btc|eth|ethereum|gas|fuel|gold|oil)"
        r" prices?|exchange rates?|stock market|market cap|ticker)\b",
        "price | exchange rate | market | ticker",
    ),
    _rule(
        "system status",
        rf"\bstatus (?:of|on) (?:(?:the|our|my|this|that|all) )*(?:[\w.#-]+ )?"
        rf"(?:{_SYSTEMS}|orders?|jobs?|tasks?|tickets?|requests?|shipments?"
        rf"|packages?|deliver(?:y|ies)|applications?|flights?)\b"
        r"|\bwhat(?:'s| is) the status\b|\bstatus (?:check|update|report)\b",
        "status",
    ),
    _rule(
        "system status",
        rf"\b(?:check|monitor|inspect|tail|look at|watch)"
        rf" (?:(?:the|our|my|all|recent|latest|error) )*{_SYSTEMS}"
        rf"(?: {_SYSTEMS})?\b",
        "check | monitor | inspect | tail | look at | watch",
    ),
    _rule(
        "system status",
        r"\b(?:is|are) (?:the |our |my )?[\w.-]+"
        r" (?:up|down|online|offline|failing|broken|healthy)\b"
        r"|\b(?:uptime|outage|git status|git log)\b",
        "up | down | online | offline | failing | broken | healthy | outage"
        " | git status | git log",
    ),
    # The files and changes an agent reads with its tools: the same words
    # ask about whatever the working tree holds at the time.
    _rule(
        "workspace",
        r"\b(?:staged|unstaged|uncommitted|pending|local) changes\b"
        r"|\b(?:the|my|this|our) (?:diff|working tree|working copy|codebase"
        r"|repo(?:sitory)?|test suite|build)\b|\bgit (?:diff|status|log)\b",
        "changes | diff | working | codebase | repo | test suite | build | git",
    ),
    _rule(
        "workspace",
        r"(?<![\w/.])(?:[\w.-]+/)+[\w-]+\.(?:py|pyi|js|jsx|ts|tsx|go|rs|java|kt"
        r"|rb|php|cs|c|cc|cpp|h|hpp|swift|scala|sh|sql|md|rst|txt|json|ya?ml|toml"
        r"|ini|cfg|html|css|vue|svelte)\b",
        "/",
    ),
    _rule(
        "briefing",
        r"\b(?:(?:daily|morning|evening|nightly|weekly) (?:brief(?:ing)?|digest"
        r"|report|summary|standup|update|recap)|briefing)\b",
        "brief | digest | report | summary | standup | update | recap",
    ),
    _rule(
        "outside source",
        r"\b(?:search|browse|google|look up|check)"
        r" (?:on |for \w+ on )?(?:the web|online|the internet)\b",
        "web | online | internet",
    ),
    _rule("outside source", r"\bhttps?://\S+", "http"),
    # Unambiguous words in other languages.
    _words(
        "relative time",
        "heute | gestern | morgen | jetzt | aktuell | aktuelle | aktuellen"
        " | aujourd'hui | demain | maintenant | actuellement"
        " | hoy | ayer | mañana | ahora | actualmente"
        " | oggi | ieri | domani | adesso | attualmente"
        " | hoje | ontem | amanhã | agora"
        " | сегодня | вчера | завтра | сейчас",
    ),
    # Chinese and Japanese do not separate words with spaces.
    _words(
        "relative time",
        "今天 | 今日 | 昨天 | 昨日 | 明天 | 明日 | 现在 | 現在 | 最新 | 最近",
        whole_words=False,
    ),
    _words(
        "news", "nachrichten | actualités | noticias | notizie | notícias | новости"
    ),
    _words("news", "新闻 | 新聞 | ニュース", whole_words=False),
    _words("weather", "wetter | météo | meteo | погода"),
    _words("weather", "天气 | 天氣 | 天気", whole_words=False),
    _words("market data", "股价 | 株価 | 股價", whole_words=False),
)

_QUOTED = re.compile(
    # Only closed fences: an unclosed one could hide the question itself.
    r"```.*?```"
    r"|`[^`\n]*`"
    r'|"[^"\n]*"'
    r"|“[^”\n]*”"
    r"|«[^»\n]*»"
    r"|^[ \t]*>[^\n]*$",
    re.DOTALL | re.MULTILINE,
)
_QUOTE_MARKS = ("`", '"', "\u201c", "\u00ab", ">")
# Typographic apostrophes, as phones and word processors type them.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc", "'"))


def assess_volatility(prompt: str, *, scheduled: bool = False) -> Volatility:
    """Say whether ``prompt``'s answer depends on when or where it is asked.

    ``scheduled`` marks a prompt run by a scheduler (a cron job): volatile
    whatever its words, since it repeats precisely to get a fresh answer.
    """
    reasons: list[str] = []
    if scheduled:
        reasons.append("runs on a schedule")

    asked = prompt.translate(_APOSTROPHES).lower()
    if any(mark in asked for mark in _QUOTE_MARKS):
        asked = _QUOTED.sub(" ", asked)
    seen: set[str] = set()
    for rule in RULES:
        match = rule.search(asked)
        if match is None:
            continue
        words = " ".join(match.group().split())
        if words not in seen:
            seen.add(words)
            reasons.append(f"mentions '{words}' ({rule.kind})")

    return Volatility(volatile=bool(reasons), reasons=tuple(reasons))
