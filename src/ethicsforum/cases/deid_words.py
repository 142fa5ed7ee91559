"""The words the de-identification recognisers (deid_rules.py) lean on.

Token patterns for names, months and weekdays; capitalised words that are never names;
given names from the 1990 US Census (data/first_names.txt, public domain) and those of them
that are also everyday words; and places at least as large as a US state, which Safe Harbor
does not count as identifying.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import phonenumbers
import phonenumbers.geocoder


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Latin letters with accents, for names such as Zoë or Barré; `re` has no \p{Lu}.
UP = "A-ZÀ-ÖØ-Þ"
LO = "a-zß-öø-ÿ"
# One capitalised word of a name: Hughes, O'Neill, McDonald, Al-Sayed, Okonkwo-Smith, Jean-Luc.
WORD = (
    rf"(?:[OD]['’][{UP}][{LO}]+|Ma?c[{UP}][{LO}]+|[{UP}][{LO}]+)"
    rf"(?:-[{UP}][{LO}]+)*"
)
INITIAL = rf"[{UP}]\."

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
MONTH_ABBR = "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
MONTH = rf"(?:{MONTHS}|(?:{MONTH_ABBR})\.?)"
WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"

# Capitalised words that begin sentences, name institutions, roles, days or faiths, and so
# are never taken for a person's name on their own.
NOT_NAMES = _words(
    """
    The A An This That These Those His Her Their Our My Your Its It He She They We I You
    In On At For From To With And But Or If When Where While After Before During Since Until
    As By Of Not No Yes Then There Here Both Each Every All Some Any One Two Three Four Five
    Ward Wards Unit Units Hospital Hospitals Trust Department Court Council College Act
    Service Services Team Committee Board Clinic Centre Center Health Care Emergency Intensive
    General Royal National Medical Mental Capacity Section Policy Protection Office Nurse
    Doctor Consultant Registrar Patient Patients Practice Surgery Hospice Infirmary Society
    Association Institute University School Faculty Foundation Commission Agency Authority
    Chief Director Officer Manager Coroner Sister Matron Professor Mr Mrs Ms Miss Dr Prof
    God Christmas Easter Ramadan Diwali Eid Muslim Christian Jewish Hindu Sikh Catholic
    Anglican Baptist Buddhist Witness Witnesses English British American Scottish Welsh Irish
    NHS ICU GP GMC NMC NICE DNACPR ReSPECT Mental Mrs
    Street Road Lane Avenue Drive Close Way Place Court Crescent Terrace Gardens Grove Square
    However Meanwhile Yesterday Today Tonight Tomorrow Later Afterwards Overnight Instead Also
    Now Again Still Together Otherwise Therefore Thus Finally First Second Third Next Last
    Nevertheless Nonetheless Moreover Furthermore Similarly Likewise Sometimes Often Here
    """
) | frozenset(MONTHS.split("|") + WEEKDAYS.split("|"))

# After a title or a cue ("his wife, June, asked") a month is a name.
NOT_NAMES_AFTER_CUE = NOT_NAMES - frozenset(MONTHS.split("|"))

# Given names that never count alone, even mid-sentence: virtues and modal verbs that open
# sentences followed by "and" or "is" ("Hope and fear...", "Will and testament..."), places,
# faiths, and surnames better known from eponyms and law reports. Everyday words among the
# given names are marked in the name list itself and treated more gently (see _given_names).
AMBIGUOUS_NAMES = _words(
    """
    Will May Hope Grace Faith Joy Patience Charity Chance Destiny Justice Trinity Precious
    Noble Love Honor Honour Mercy Prudence Constance Verity Harmony Unity Liberty Summer
    Autumn Winter April June August Christian Georgia Carolina Virginia Florence Dallas
    Denver Austin Houston Paris Lincoln Jordan Israel Madison Ireland Sydney Alexandria
    Charlotte Columbus Orlando Chester Washington Chelsea Kent Devon Clyde Tyrone Wilson
    Jackson Harrison Hamilton Franklin Gordon Warren Carter Parker Marshall Price Mason Tyler
    Sherman Clinton Logan Allen Vernon Eugene Bland Down
    """
)


US_STATES = _words(
    """
    Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia
    Hawaii Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland
    Massachusetts Michigan Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio
    Oklahoma Oregon Pennsylvania Tennessee Texas Utah Vermont Virginia Washington Wisconsin
    Wyoming
    """
) | {
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "West Virginia",
    "District of Columbia",
}
STATE_CODES = _words(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC
    """
)
# A state or anything larger is not an identifier under Safe Harbor.
LARGE_REGIONS = frozenset(
    {"England", "Scotland", "Wales", "Northern Ireland", "Britain", "Great Britain", "UK"}
    | {"Europe", "Africa", "Asia", "America", "North America", "South America", "Australia"}
    | {"United States", "United Kingdom", "USA", "US", "EU", "Midlands", "North", "South"}
)


@cache
def _name_list() -> tuple[frozenset[str], frozenset[str]]:
    """The given names, and those of them that are also everyday English words."""
    path = resources.files("ethicsforum.cases").joinpath("data/first_names.txt")
    names: set[str] = set()
    everyday: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, mark = line.partition(" ")
        names.add(name)
        if mark.strip() == "*":
            everyday.add(name)
    return frozenset(names), frozenset(everyday) | AMBIGUOUS_NAMES


def first_names() -> frozenset[str]:
    return _name_list()[0]


def ambiguous_names() -> frozenset[str]:
    return _name_list()[1]


@cache
def country_names() -> frozenset[str]:
    """Every country and territory's English name, as libphonenumber knows them."""
    names: set[str] = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        if example is not None:
            name = phonenumbers.geocoder.country_name_for_number(example, "en")
            if name:
                names.add(name)
    return frozenset(names)


def is_large_region(place: str) -> bool:
    return place in US_STATES or place in LARGE_REGIONS or place in country_names()
