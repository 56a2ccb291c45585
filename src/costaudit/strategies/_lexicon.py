"""English word lists the semantic cache guards read prompts with.

Kept apart from the guards so the rules read as code and the vocabulary as
data. Every list is lower case. Lists are written as one string and split,
so a reviewer can scan them like prose.
"""

from __future__ import annotations


def _split(words: str) -> tuple[str, ...]:
    return tuple(words.split())


#: Canonical unit -> every spelling that means it. Short forms that are also
#: ordinary words ("in", "min" as in min()) are left out.
UNITS: dict[str, tuple[str, ...]] = {
    "km": _split("km kms kilometer kilometers kilometre kilometres"),
    "m": _split("meter meters metre metres"),
    "cm": _split("cm centimeter centimeters centimetre centimetres"),
    "mm": _split("mm millimeter millimeters millimetre millimetres"),
    "mile": _split("mi mile miles"),
    "foot": _split("ft foot feet"),
    "inch": _split("inch inches"),
    "yard": _split("yd yard yards"),
    "kg": _split("kg kgs kilo kilos kilogram kilograms"),
    "g": _split("gram grams"),
    "lb": _split("lb lbs pound pounds"),
    "oz": _split("oz ounce ounces"),
    "l": _split("liter liters litre litres"),
    "ml": _split("ml milliliter milliliters millilitre millilitres"),
    "gallon": _split("gal gallon gallons"),
    "celsius": _split("celsius °c centigrade"),
    "fahrenheit": _split("fahrenheit °f"),
    "kelvin": _split("kelvin"),
    "usd": _split("usd $ dollar dollars"),
    "eur": _split("eur € euro euros"),
    "gbp": _split("gbp £ sterling"),
    "inr": _split("inr rupee rupees rs"),
    "jpy": _split("jpy yen"),
    "percent": _split("% percent"),
    "second": _split("s sec secs seconds"),
    "minute": _split("mins minute minutes"),
    "hour": _split("h hr hrs hour hours"),
    "day": _split("day days"),
    "week": _split("week weeks"),
    "month": _split("month months"),
    "year": _split("yr yrs year years"),
    "byte": _split("byte bytes"),
    "kb": _split("kb kib kilobyte kilobytes"),
    "mb": _split("mb mib megabyte megabytes"),
    "gb": _split("gb gib gigabyte gigabytes"),
    "tb": _split("tb tib terabyte terabytes"),
}
UNIT_OF = {alias: unit for unit, aliases in UNITS.items() for alias in aliases}
#: Units that are everyday words too ("these days", "a year ago"): they
#: count only right after a number.
TIME_UNITS = frozenset(_split("second minute hour day week month year"))

_MONTH_NAMES = _split(
    "january february march april may june july august september october "
    "november december"
)
#: Any spelling of a month -> its full name.
MONTHS = {**{m: m for m in _MONTH_NAMES}, **{m[:3]: m for m in _MONTH_NAMES}}
MONTHS["sept"] = "september"
WEEKDAYS = _split("monday tuesday wednesday thursday friday saturday sunday")
CALENDAR = frozenset(
    (*MONTHS, *WEEKDAYS, *_split("today tomorrow yesterday tonight weekend"))
)
#: Months that are also ordinary words ("may I", "march on"): dates only
#: next to a number.
AMBIGUOUS_MONTHS = frozenset(_split("may march jan mar jun dec"))

SMALL_NUMBERS = _split(
    "zero one two three four five six seven eight nine ten eleven twelve "
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
)
TENS = _split("twenty thirty forty fifty sixty seventy eighty ninety")
NUMBER_WORDS: dict[str, float] = {
    **{w: float(i) for i, w in enumerate(SMALL_NUMBERS)},
    **{w: float(10 * (i + 2)) for i, w in enumerate(TENS)},
    "dozen": 12.0,
    "twice": 2.0,
}
SCALES = {"hundred": 100.0, "thousand": 1e3, "million": 1e6, "billion": 1e9}
ORDINALS = {
    w: float(i + 1)
    for i, w in enumerate(
        _split("first second third fourth fifth sixth seventh eighth ninth tenth")
    )
}

#: Words that name nothing: a capitalised one of these is never a name, and
#: the order guard skips them when it looks for the words that carry roles.
COMMON = frozenset(
    _split(
        """
        a an the this that these those there here it its i me my we our you
        your he she they them their his her what which who whom whose why how
        when where whether if is are was were be been being am do does did
        done have has had can could will would shall should may might must
        let please and or but so yet for nor not no yes ok okay hi hello hey
        thanks thank in on at by to of from with without into onto about
        above below over under between among after before during since until
        as than then also any some all each every both either neither many
        much more most few less least other another such same own only just
        very too quite give tell show list write explain describe summarize
        summarise compare convert translate find make create generate define
        calculate compute help suggest recommend provide name use get set
        check fix add remove implement build run rewrite refactor review
        draft best good better worst new old first last next one two three
        step steps example examples way ways difference differences i'm i've
        i'd i'll it's what's how's let's there's that's who's where's
        """
    )
)
#: Words that only hold a sentence together: "how do I" and "how can I",
#: "what is" and "what's" ask the same thing.
FUNCTION_WORDS = frozenset(
    _split(
        """
        a an the this that these those it its i me my we our you your he she
        they them their his her what which who whom whose why how when where
        is are was were be been being am do does did have has had can could
        will would shall should may might must please i'm i've i'd i'll
        there here some any
        """
    )
)
#: Words that carry a role in "A <word> B" yet are in COMMON.
ROLE_WORDS = frozenset(_split("best worst new old first last next"))

NEGATIONS = frozenset(
    _split(
        "not no never cannot none nothing nobody neither nor nowhere "
        "shouldn't wouldn't couldn't without absence lack lacks lacking"
    )
)
#: Words a negation skips on its way to the word it negates: "does not
#: *contain*", "is never *safe*", "do not use *the euro*".
NEGATION_SKIP = frozenset(
    _split(
        """
        be is are was were been being am do does did have has had get gets
        got any a an the my your our their his her its it this that these
        those to of for in on at so too very really even ever yet still
        always just all use used using make making
        """
    )
)

#: Pairs of words that ask opposite questions.
OPPOSITES: tuple[tuple[str, str], ...] = tuple(
    (a, b.replace("_", " "))
    for a, b in (
        pair.split("/")
        for pair in _split(
            """
            increase/decrease increase/reduce add/remove with/without
            enable/disable encrypt/decrypt encode/decode compress/decompress
            serialize/deserialize install/uninstall upload/download
            import/export push/pull buy/sell start/stop open/close lock/unlock
            connect/disconnect show/hide include/exclude allow/block allow/deny
            accept/reject min/max minimum/maximum minimize/maximize
            ascending/descending uppercase/lowercase upper/lower input/output
            left/right above/below before/after first/last best/worst
            fastest/slowest cheapest/most_expensive advantage/disadvantage
            benefit/drawback true/false win/lose north/south east/west hot/cold
            long/short inner/outer synchronous/asynchronous sync/async
            public/private client/server
            local/remote local/global source/target source/destination
            src/dst internal/external inbound/outbound incoming/outgoing
            upstream/downstream frontend/backend horizontal/vertical
            row/column prefix/suffix head/tail static/dynamic
            mutable/immutable positive/negative odd/even forward/backward
            send/receive zip/unzip expand/collapse attach/detach mount/unmount
            subscribe/unsubscribe follow/unfollow block/unblock pause/resume
            archive/unarchive upgrade/downgrade up/down on/off online/offline
            light/dark free/paid cheap/expensive easy/hard easy/difficult
            simple/complex old/new oldest/newest earliest/latest past/future
            more/less most/least better/worse faster/slower cheaper/dearer
            cheaper/more_expensive larger/smaller bigger/smaller large/small
            big/small higher/lower high/low highest/lowest largest/smallest
            longest/shortest longer/shorter stronger/weaker strong/weak
            older/younger heavier/lighter deposit/withdraw credit/debit
            lend/borrow profit/loss gain/loss rent/buy male/female men/women
            man/woman boy/girl day/night summer/winter inside/outside
            indoor/outdoor legal/illegal possible/impossible valid/invalid
            safe/unsafe visible/invisible
            """
        )
    )
)

#: Operators written as words, between two operands ("5 plus 3").
OPERATOR_WORDS: dict[str, str] = {
    "plus": "+",
    "minus": "-",
    "times": "*",
    "multiplied by": "*",
    "divided by": "/",
    "equals": "=",
    "to the power of": "^",
}
#: Words that put a minus sign on the number after them ("negative 5").
SIGN_WORDS = frozenset(_split("negative minus"))

#: What a query computes over a set of values, by canonical name. "mean"
#: is left out: as a verb ("what does X mean") it is too common.
AGGREGATES: dict[str, tuple[str, ...]] = {
    "count": _split("count counts counted counting tally"),
    "sum": _split("sum sums summed summing"),
    "average": _split("average averages averaged averaging avg"),
    "median": _split("median medians"),
    "max": _split("max maximum maxima maximal"),
    "min": _split("min minimum minima minimal"),
}
AGGREGATE_OF = {
    alias: name for name, aliases in AGGREGATES.items() for alias in aliases
}
