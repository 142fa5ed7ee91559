"""The recognisers behind the de-identification check: where in a text a person may be named.

Each recogniser yields `Finding`s (offsets, kind, priority) for one kind of HIPAA Safe Harbor
identifier; `find` runs them all and settles overlaps. Libraries do what they do best:
phonenumbers (Google's libphonenumber) for telephone and fax numbers, linkify-it-py for web
addresses and e-mail, the standard library's ipaddress for IP addresses. Names, places, dates,
ages and record numbers have no such library that runs without a downloaded model, so they
are patterns with context cues and word lists (deid_words.py). docs/design.md explains the
choices.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers
from linkify_it import LinkifyIt

from ethicsforum.cases.deid_words import (
    AMBIGUOUS_NAMES,
    INITIAL,
    MONTH,
    MONTH_ABBR,
    MONTHS,
    NOT_NAMES,
    NOT_NAMES_AFTER_CUE,
    STATE_CODES,
    UP,
    WEEKDAYS,
    WORD,
    ambiguous_names,
    first_names,
    is_large_region,
)

KINDS = ("name", "location", "date", "age", "phone", "fax", "email", "id_number", "url", "ip")


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    kind: str
    # Higher wins when two findings overlap: a labelled record number beats the phone
    # number it resembles, an e-mail address beats the name inside it.
    priority: int


_PRIORITY = {
    "email": 90,
    "url": 90,
    "ip": 85,
    "id_number": 80,
    "fax": 70,
    "phone": 70,
    "date": 60,
    "age": 55,
    "location": 40,
    "name": 30,
}

# --- names -----------------------------------------------------------------------------

TITLES = (
    r"Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sister|Nurse|Matron|Father|Rev|Revd|Reverend|"
    r"Sir|Dame|Lady|Lord|Rabbi|Imam|Pastor"
)
NAME_SEQ = rf"{WORD}(?:\s+(?:{INITIAL}\s*)?{WORD}){{0,3}}"
_TITLED = re.compile(rf"\b(?:{TITLES})\.?\s+(?:{INITIAL}\s*)?({NAME_SEQ})")
# "a man named Tomasz", "called Rhys", "known as", "Patient: Mohammed Al-Sayed".
_CUED = re.compile(
    rf"(?:\b(?:named|called|known as|name is|names? was)\s+|"
    rf"\b(?:Patient|Name|Patient name|Next of kin|NOK|Contact)\s*:\s*)({NAME_SEQ})"
)
RELATIONS = (
    r"son|daughter|wife|husband|partner|spouse|mother|father|mum|mom|dad|brother|sister|"
    r"aunt|uncle|cousin|nephew|niece|grandson|granddaughter|grandmother|grandfather|"
    r"grandchild|stepson|stepdaughter|neighbour|neighbor|friend|carer|caregiver|fiancée?|"
    r"boyfriend|girlfriend|colleague|manager|toddler|baby|infant|boy|girl|widow|widower|"
    r"child|twin|sibling|relative|lodger|flatmate|employer|landlord|landlady"
)
# "her daughter, Sarah Hughes,", "His son Daniel phoned", "A toddler, Alfie, was".
_RELATION = re.compile(rf"\b(?:{RELATIONS})(?:,\s*|\s+)({NAME_SEQ})")
# "Aisha Rahman, a 28-year-old junior doctor", "Mrs Thompson (age 102)", "Tom, 93, lives".
_APPOSITIVE = re.compile(
    rf"\b({WORD}(?:\s+{WORD}){{0,2}})"
    rf"(?=,\s+(?:a|an)\s+[\w-]*year[- ]old|,\s+aged\s+\d|\s+\(age[d:]?\s+\d|,\s+\d{{1,3}},"
    # "Ravi, the patient's eldest son,"
    rf"|,\s+(?:the|her|his|their|a|an|our|my)\s+(?:[\w'’-]+\s+){{0,2}}(?:{RELATIONS})\b)"
)
_CAPITALISED_RUN = re.compile(rf"\b{WORD}(?:\s+(?:{INITIAL}\s*)?{WORD})*")
EPONYM_NOUNS = (
    r"disease|syndrome|sign|test|procedure|operation|criteria|principles?|law|palsy|"
    r"lymphoma|ulcer|phenomenon|reflex|triad|classification|scale|score|competence|"
    r"fracture|manoeuvre|maneuver|method|rule|case|ruling|judgment|judgement|doctrine"
)
_EPONYM_AFTER = re.compile(rf"^(?:['’]s)?\s+(?:{EPONYM_NOUNS})\b")
_DETERMINER_BEFORE = re.compile(
    r"(?:\b(?:the|a|an|this|that|these|those|St\.?|Saint)|['’]s)\s+$", re.I
)
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*(?:[-*+]\s+|\d+[.)]\s+)?|[\"“(]\s*)$")
# After a given name that opens a sentence, the words that show it is a person after all:
# "Tom and his sister...", "Carol, who...", "Bill was..." (but not "Will the team...").
_PERSON_NEXT = re.compile(
    r"^(?:,|\s+(?:and|or|was|is|has|had|who|said|says|asked|asks|told|tells|wants|wanted|"
    r"lives|lived|died|would|will|can|could|did|does|feels|felt|thinks|thought)\b)"
)


def _trim_run(
    text: str, start: int, end: int, stop: frozenset[str] = NOT_NAMES
) -> tuple[int, int] | None:
    """Drop words that are never names from both ends of a run of capitalised words."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    while words and text[words[0][0] : words[0][1]].rstrip(".,") in stop:
        words.pop(0)
    while words and text[words[-1][0] : words[-1][1]].rstrip(".,") in stop:
        words.pop()
    if not words:
        return None
    return words[0][0], words[-1][1]


def _names(text: str) -> Iterator[Finding]:
    p = _PRIORITY["name"]
    for pattern in (_TITLED, _CUED, _RELATION, _APPOSITIVE):
        for m in pattern.finditer(text):
            if pattern is _APPOSITIVE and m.group(1).endswith("ly"):
                continue  # "Sadly, the patient's son..."
            trimmed = _trim_run(text, m.start(1), m.end(1), NOT_NAMES_AFTER_CUE)
            if trimmed is None:
                continue
            # A title makes the whole "Mr Okafor" the finding; otherwise just the name.
            start = m.start() if pattern is _TITLED else trimmed[0]
            yield Finding(start, trimmed[1], "name", p + (5 if pattern is _TITLED else 0))
    yield from _given_names(text)


def _given_names(text: str) -> Iterator[Finding]:
    """A listed given name with a surname, or alone where it cannot be an everyday word."""
    p = _PRIORITY["name"]
    given, ambiguous = first_names(), ambiguous_names()
    for m in _CAPITALISED_RUN.finditer(text):
        words = [
            (m.start() + w.start(), m.start() + w.end()) for w in re.finditer(r"\S+", m.group())
        ]
        i = 0
        while i < len(words):
            start, end = words[i]
            word = text[start:end]
            i += 1
            if word not in given or word in NOT_NAMES:
                continue
            # A middle name or initial and a surname: up to two more words that are names.
            j = i
            while (
                j < len(words) and j - i < 2 and text[slice(*words[j])].rstrip(".") not in NOT_NAMES
            ):
                j += 1
            while j > i and re.fullmatch(INITIAL, text[slice(*words[j - 1])]):
                j -= 1
            before = text[max(0, start - 12) : start]
            # "the Major Trauma Centre", "on Long Island": an everyday word leading a name.
            if j > i and not (word in ambiguous and _DETERMINER_BEFORE.search(before)):
                yield Finding(start, words[j - 1][1], "name", p)
                i = j
                continue
            if word in AMBIGUOUS_NAMES or i < len(words):
                continue
            if _EPONYM_AFTER.match(text[end:]) or _DETERMINER_BEFORE.search(before):
                continue
            # An everyday word opening a sentence ("Will the...", "See https://...") is a
            # name only when what follows reads like a person; capitalised mid-sentence it is.
            opens = _SENTENCE_START.search(text[max(0, start - 4) : start])
            if word in ambiguous and opens and not _PERSON_NEXT.match(text[end:]):
                continue
            yield Finding(start, end, "name", p)


# --- places ----------------------------------------------------------------------------

STREET_TYPES = (
    r"Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Place|Pl|Crescent|"
    r"Terrace|Gardens|Grove|Boulevard|Blvd|Square|Sq|Hill|Row|Mews|Parade|Walk|View|Rise|"
    r"Park|Green|Highway|Hwy|Circle|Cir|Trail|Terr"
)
_STREET = re.compile(
    rf"\b(?:(?:Flat|Apartment|Apt\.?|Unit|Suite|Room)\s+\w{{1,4}},?\s+)?"
    rf"\d{{1,5}}[A-Za-z]?,?\s+(?:(?:[{UP}][\w'’-]+|\d+(?:st|nd|rd|th))\s+){{1,3}}"
    rf"(?:{STREET_TYPES})\b\.?"
    rf"(?:,\s*{WORD}(?:\s+{WORD}){{0,2}})?"  # the town
    rf"(?:,?\s*(?:[A-Z]{{2}}\s+)?\d{{5}}(?:-\d{{4}})?)?"  # a US state and ZIP
)
UK_POSTCODE = r"(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})"
STREET_NAMES = (
    r"Street|Road|Lane|Avenue|Drive|Close|Crescent|Terrace|Gardens|Grove|Boulevard|Mews|"
    r"Parade|Square|St\.|Rd\.|Ave\."
)
# "a house on Wellington Street", "lives on Elm St."
_STREET_NAMED = re.compile(
    rf"\b(?:on|in|at|off|of|along|near)\s+((?:{WORD}\s+){{1,3}}(?:{STREET_NAMES})(?!\w)"
    rf"(?:,\s*{WORD}(?:\s+{WORD}){{0,2}}(?=[,.;]))?)"
)
# "a Bristol-based charity", "a Lagos-born engineer"
_PLACE_BASED = re.compile(rf"\b({WORD})-(?:based|born|bred)\b")
_POSTCODE = re.compile(rf"\b{UK_POSTCODE}\b")
_ZIP_AFTER_STATE = re.compile(r"\b([A-Z]{2})\s+(\d{5}(?:-\d{4})?)\b")
_ZIP_CUED = re.compile(r"(?i:\bzip(?:\s*code)?\b)[^.\d\n]{0,20}?\b(\d{5}(?:-\d{4})?)\b")
INSTITUTIONS = (
    r"Hospital|Infirmary|Hospice|Medical Cent(?:re|er)|Health Cent(?:re|er)|Clinic|"
    r"Care Home|Nursing Home|Children's Hospital"
)
_INSTITUTION = re.compile(
    rf"\b(?:(?:St\.?|Saint)\s+)?(?:{WORD}(?:['’]s?)?\s+){{1,4}}(?:{INSTITUTIONS})\b"
)
PLACE_CUES = (
    r"lives?|living|lived|resides?|residing|resident|moved|moving|relocated|born|grew up|"
    r"raised|settled|home|flat|house|farm|village|town|city|county|travelled|traveled|"
    r"commutes?|phoned|rang|calls?|patient|family|comes|came|originally|returned|visiting|"
    r"flew|flown|drove|driven|arrived|arrives|emigrated|fled|works?|worked|studies|studied"
)
PLACE = rf"{WORD}(?:[ -](?:upon|on|under|le|en)?[ -]?{WORD}){{0,2}}"
_PLACE_CUED = re.compile(
    rf"\b(?:{PLACE_CUES})\b(?:\s+[a-z]+){{0,4}}?\s+(?:in|at|from|near|of|as|outside|to)\s+"
    rf"({PLACE})((?:\s+(?:to|and|or)\s+{PLACE})*)"
)


def _places(text: str) -> Iterator[Finding]:
    p = _PRIORITY["location"]
    for m in _STREET.finditer(text):
        yield Finding(m.start(), m.end(), "location", p + 5)
    for m in _POSTCODE.finditer(text):
        yield Finding(m.start(), m.end(), "location", p + 5)
    for m in _STREET_NAMED.finditer(text):
        if m.group(1).split()[0] not in NOT_NAMES:
            yield Finding(m.start(1), m.end(1), "location", p)
    for m in _PLACE_BASED.finditer(text):
        if m.group(1) not in NOT_NAMES and not is_large_region(m.group(1)):
            yield Finding(m.start(1), m.end(1), "location", p)
    for m in _ZIP_AFTER_STATE.finditer(text):
        if m.group(1) in STATE_CODES:
            yield Finding(m.start(2), m.end(2), "location", p + 5)
    for m in _ZIP_CUED.finditer(text):
        yield Finding(m.start(1), m.end(1), "location", p + 5)
    for m in _INSTITUTION.finditer(text):
        trimmed = _trim_run(text, m.start(), m.end() - len(m.group().split()[-1]) - 1)
        if trimmed is not None:
            yield Finding(trimmed[0], m.end(), "location", p)
    for m in _PLACE_CUED.finditer(text):
        spans = [(m.start(1), m.end(1))]
        spans += [
            (m.start(2) + n.start(1), m.start(2) + n.end(1))
            for n in re.finditer(rf"\s+(?:to|and|or)\s+({PLACE})", m.group(2))
        ]
        for start, end in spans:
            trimmed = _trim_run(text, start, end)
            if trimmed is None or is_large_region(text[trimmed[0] : trimmed[1]]):
                continue
            yield Finding(trimmed[0], trimmed[1], "location", p)


# --- dates -----------------------------------------------------------------------------

_ORD = r"(?:st|nd|rd|th)"
_DATE_PATTERNS = [
    # 3 March 2024, 14th February 1931, the 14th of February 2022, Tuesday 9 July
    rf"\b(?:(?:{WEEKDAYS}),?\s+)?(?:the\s+)?\d{{1,2}}{_ORD}?(?:\s+of)?\s+{MONTH}(?:,?\s+\d{{4}})?\b",
    # March 3, 2024; Jan 12th, 2024; Friday, March 3
    rf"\b(?:(?:{WEEKDAYS}),?\s+)?{MONTH}\s+\d{{1,2}}{_ORD}?\b(?:,?\s+\d{{4}}\b)?",
    # 12-Jan-2023, 12 Jan 23
    rf"\b\d{{1,2}}[-/ ](?:{MONTH_ABBR}|May)[-/ ]\d{{2,4}}\b",
    # March 2021: a month of a year
    rf"\b(?:{MONTHS}|(?:{MONTH_ABBR})\.?)\s+\d{{4}}\b",
    # 2024-03-11
    r"\b\d{4}-\d{1,2}-\d{1,2}\b",
]
_DATE_WORDS = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS))
_NUMERIC_DATE = re.compile(r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/-]|\.\d)")
# "May" is a month only beside a day or a year; "March" and the rest are words too.
_MAY_VERB = re.compile(r"^May\s+\d{1,2}\s+(?:days?|weeks?|months?|years?|patients?|hours?)\b")


# "seen on 14/03": a day and month without a year, only where a date is expected.
_DAY_MONTH = re.compile(
    r"\b(?:on|dated|since|until|till|from|by|of)\s+(\d{1,2})/(\d{1,2})(?![\d/]|\.\d)"
)


def _dates(text: str) -> Iterator[Finding]:
    p = _PRIORITY["date"]
    for m in _DAY_MONTH.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12:
            yield Finding(m.start(1), m.end(2), "date", p)
    for m in _DATE_WORDS.finditer(text):
        if _MAY_VERB.match(m.group()):
            continue
        yield Finding(m.start(), m.end(), "date", p)
    for m in _NUMERIC_DATE.finditer(text):
        a, b = int(m.group(1)), int(m.group(3))
        if 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12:
            yield Finding(m.start(), m.end(), "date", p)
    for m in re.finditer(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", text):
        if not (1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31):
            continue
        yield Finding(m.start(), m.end(), "date", p + 1)


# --- ages over 89 ----------------------------------------------------------------------

OLD = r"(?:9\d|1[01]\d)"
TENS = r"ninety|one hundred|a hundred|hundred"
UNITS = r"one|two|three|four|five|six|seven|eight|nine"
OLD_WORDS = rf"(?:{TENS})(?:[- ](?:and[- ])?(?:{UNITS}))?"
NOT_AGE_UNITS = (
    r"\s*(?:%|mg|mcg|micrograms?|g\b|kg|ml|mL|l\b|L\b|mmol|minutes?|mins?|days?|bpm|per)"
)
_AGE = re.compile(
    rf"\b(?:{OLD}|{OLD_WORDS})[- ](?:years?|yrs?)[- ]old\b"
    rf"|\b(?:{OLD}|{OLD_WORDS})\s+years?\s+of\s+age\b"
    rf"|\b(?:aged|age|age of|ages|now|turned|turns|turning|reached|reaches)\s*:?\s*{OLD}\b"
    rf"(?!{NOT_AGE_UNITS})"
    rf"|\b(?:makes|made)\s+(?:her|him|them)\s+{OLD}\b(?!{NOT_AGE_UNITS})"
    rf"|\b(?:she|he|who|they)\s+(?:is|was|are|were|turns|turned)\s+(?:now\s+)?{OLD}\b"
    rf"(?!{NOT_AGE_UNITS})"
    rf"|\b{OLD}\s?(?:yo|y/o|y\.o\.|yr old)(?!\w)"
    rf"|(?<=, ){OLD}(?=,)"
    rf"|(?<=\(){OLD}(?=\))",
    re.I,
)


def _ages(text: str) -> Iterator[Finding]:
    for m in _AGE.finditer(text):
        if m.group().startswith(", "):
            continue
        yield Finding(m.start(), m.end(), "age", _PRIORITY["age"])


# --- record and other identifying numbers --------------------------------------------

ID_LABELS = (
    r"MRN|M\.R\.N\.|(?:medical|health|patient)\s+record\s+(?:number|no\.?|#)|"
    r"record\s+(?:number|no\.?)|hospital\s+(?:number|no\.?|#|ID)|unit\s+number|"
    r"NHS\s+(?:number|no\.?|#)|CHI(?:\s+(?:number|no\.?))?|"
    r"(?:account|acct\.?|policy|claim|member|membership|subscriber|group|plan|insurance|"
    r"beneficiary|patient|employee|staff|client|encounter|visit|specimen|accession|badge|"
    r"certificate|prescription|Medicare|Medicaid|health[- ]plan)\s+(?:number|no\.?|#|ID)|"
    r"member\s+ID|insurance\s+(?:member\s+)?ID|"
    r"(?:social\s+security|SSN|SIN)(?:\s+(?:number|no\.?))?|"
    r"national\s+insurance(?:\s+(?:number|no\.?))?|NI\s+(?:number|no\.?)|"
    r"passport(?:\s+(?:number|no\.?))?|"
    r"(?:driving|driver['’]?s)\s+licen[cs]e(?:\s+(?:number|no\.?))?|"
    r"licen[cs]e\s+(?:number|no\.?|plate)|(?:number\s+)?plate|"
    r"(?:vehicle\s+)?registration(?:\s+(?:number|no\.?|mark))?|reg(?:\.|\s+no\.?)|VIN|"
    r"serial(?:\s+(?:number|no\.?))?|S/N|device\s+(?:ID|number)|IMEI|"
    r"GMC(?:\s+(?:number|no\.?))|NMC\s+PIN|PIN|DEA(?:\s+number)?|NPI(?:\s+number)?"
)
_ID_LABELLED = re.compile(
    rf"(?i:\b(?:{ID_LABELS}))(?:['’]s)?\s*(?::|#|=|\bis\b|\bwas\b)?\s*[,(]?\s*"
    r"((?=[A-Z0-9/ -]*\d)[A-Z0-9][A-Z0-9/-]{1,24}(?:\s[A-Z0-9]{1,4}(?![\w/-]))*)"
    r"(?![\w])"
)
# "(#A-449102)": a number sign before something with digits in it.
_HASH_NUMBER = re.compile(r"(?<![\w&])#\s?((?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,24})(?![\w])")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_NI_NUMBER = re.compile(r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_UK_PLATE = re.compile(r"\b[A-Z]{2}\d{2} ?[A-Z]{3}\b")
_VIN = re.compile(r"\b[A-HJ-NPR-Z0-9]{17}\b")
_NHS_SHAPE = re.compile(r"\b\d{3} ?\d{3} ?\d{4}\b")
_PHONE_CUE = re.compile(r"(?i:phone|tel|telephone|mobile|cell|call|ring|fax|contact)\b.{0,12}$")
_COUNTRY_CODE = re.compile(r"\+\d{1,3}[\s.-]?\(?0?\)?\s?$")


def _nhs_checksum_ok(digits: str) -> bool:
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _id_numbers(text: str) -> Iterator[Finding]:
    p = _PRIORITY["id_number"]
    for m in _ID_LABELLED.finditer(text):
        yield Finding(m.start(1), m.end(1), "id_number", p)
    for m in _HASH_NUMBER.finditer(text):
        yield Finding(m.start(1), m.end(1), "id_number", p - 10)
    for pattern in (_SSN, _NI_NUMBER, _UK_PLATE):
        for m in pattern.finditer(text):
            yield Finding(m.start(), m.end(), "id_number", p - 20)
    for m in _VIN.finditer(text):
        if re.search(r"\d", m.group()) and re.search(r"[A-Z]", m.group()):
            yield Finding(m.start(), m.end(), "id_number", p - 20)
    for m in _NHS_SHAPE.finditer(text):
        digits = m.group().replace(" ", "")
        before = text[max(0, m.start() - 20) : m.start()]
        if (
            _nhs_checksum_ok(digits)
            and not _PHONE_CUE.search(before)
            and not _COUNTRY_CODE.search(before)
        ):
            yield Finding(m.start(), m.end(), "id_number", p - 5)


# --- telephone and fax -----------------------------------------------------------------

_FAX_CUE = re.compile(r"(?i:\bfax(?:ed)?\b)")
_VOICE_CUE = re.compile(r"(?i:\b(?:phone|tel|telephone|mobile|cell|call|ring|landline)\b)")


def _phones(text: str) -> Iterator[Finding]:
    p = _PRIORITY["phone"]
    seen: set[tuple[int, int]] = set()
    matches: list[tuple[int, int]] = []
    # US numbers must be valid ones; British ones need only be possible, because case
    # writers rightly use Ofcom's drama ranges (07700 900xxx, 01632 960xxx), which
    # libphonenumber does not count as valid.
    for region, leniency in (
        ("US", phonenumbers.Leniency.VALID),
        ("GB", phonenumbers.Leniency.POSSIBLE),
    ):
        # max_tries bounds the work on a text that is mostly digits.
        matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency, max_tries=5000)
        for match in matcher:
            raw = match.raw_string
            digits = sum(c.isdigit() for c in raw)
            if region == "GB" and (digits < 10 or raw[0] not in "0+("):
                continue
            span = (match.start, match.end)
            if span not in seen:
                seen.add(span)
                matches.append(span)
    for start, end in matches:
        before = text[max(0, start - 40) : start]
        fax = list(_FAX_CUE.finditer(before))
        voice = list(_VOICE_CUE.finditer(before))
        is_fax = bool(fax) and (not voice or fax[-1].start() > voice[-1].start())
        yield Finding(start, end, "fax" if is_fax else "phone", p)


# --- e-mail, web and IP addresses ------------------------------------------------------

_local = threading.local()


def _linkify() -> LinkifyIt:
    # A LinkifyIt keeps the text it last matched on itself, so each thread has its own.
    found: LinkifyIt | None = getattr(_local, "linkify", None)
    if found is None:
        found = _local.linkify = LinkifyIt()
    return found


def _links(text: str) -> Iterator[Finding]:
    linkify = _linkify()
    if not linkify.test(text):
        return
    for m in linkify.match(text) or []:
        kind = "email" if m.schema == "mailto:" else "url"
        yield Finding(m.index, m.last_index, kind, _PRIORITY[kind])


_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def _ips(text: str) -> Iterator[Finding]:
    for pattern in (_IPV4, _IPV6):
        for m in pattern.finditer(text):
            try:
                ipaddress.ip_address(m.group())
            except ValueError:
                continue
            yield Finding(m.start(), m.end(), "ip", _PRIORITY["ip"])


RECOGNISERS = (_links, _ips, _id_numbers, _phones, _dates, _ages, _places, _names)


def find(text: str) -> list[Finding]:
    """Every span of `text` that may identify a person, by position, without overlaps.

    Where findings overlap, the higher priority (then the longer) one wins.
    """
    found = [f for recognise in RECOGNISERS for f in recognise(text) if f.end > f.start]
    found.sort(key=lambda f: (-f.priority, -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for f in found:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    kept.sort(key=lambda f: (f.start, f.end))
    return kept
