"""The layout and code lists of the SEN2 person-level return (COLLECT "Blade" CSV export).

Item numbers and codes follow DfE's "Special educational needs person level survey 2025:
guide" (v1.4) and its technical specification, as summarised in
``/work/shared/specs/sen2-person-level.md``. The nine modules, their parents and fields are
in :data:`MODULES`; a field added or renamed between guide versions is listed in
:data:`VERSIONED` so that a return made under an earlier guide still reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sendcast.model.structure import GROUPS

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Module:
    """One module (one CSV file) of the return."""

    name: str
    parent: str | None
    fields: tuple[str, ...]  # besides the id columns
    dates: tuple[str, ...] = ()

    @property
    def table_id(self) -> str:
        return f"{self.name}tableid"

    @property
    def order_column(self) -> str:
        return f"{self.name}orderseqcolumn"

    @property
    def parent_id(self) -> str | None:
        return f"{self.parent}tableid" if self.parent else None

    def id_columns(self) -> tuple[str, ...]:
        ids = (self.table_id, "NativeId", self.order_column, "sourceid")
        return ids + ((self.parent_id,) if self.parent_id else ())


MODULES: dict[str, Module] = {
    m.name: m
    for m in (
        Module("sen2", None, ("collection", "year", "referencedate", "sourcelevel", "lea", "softwarecode", "release",
                              "serialno", "datetime", "dmo", "dco", "dsco"), ("referencedate",)),
        Module("person", "sen2", ("surname", "forename", "personbirthdate", "sex", "ethnicity", "postcode", "upn",
                                  "uniquelearnernumber", "upnunknown"), ("personbirthdate",)),
        Module("requests", "person", ("receiveddate", "requestsource", "rya", "requestoutcomedate", "requestoutcome",
                                      "requestmediation", "requesttribunal", "exported"),
               ("receiveddate", "requestoutcomedate")),
        Module("assessment", "requests", ("assessmentoutcome", "assessmentoutcomedate", "assessmentmediation",
                                          "assessmenttribunal", "othermediation", "othertribunal", "week20"),
               ("assessmentoutcomedate",)),
        Module("namedplan", "assessment", ("startdate", "planres", "planwbp", "pb", "oa", "dp", "ceasedate",
                                           "ceasereason"), ("startdate", "ceasedate")),
        Module("plandetail", "namedplan", ("urn", "ukprn", "sensetting", "sensettingother", "placementrank",
                                           "senunitindicator", "resourcedprovisionindicator")),
        Module("activeplans", "requests", ("transferla", "reviewmeeting", "reviewoutcome", "reviewdraft",
                                           "phasetransferduedate", "phasetransferfinaldate", "lastreview"),
               ("reviewmeeting", "phasetransferduedate", "phasetransferfinaldate", "lastreview")),
        Module("placementdetail", "activeplans", ("urn", "ukprn", "sensetting", "sensettingother", "placementrank",
                                                  "entrydate", "leavingdate", "senunitindicator",
                                                  "resourcedprovisionindicator", "res", "wbp"),
               ("entrydate", "leavingdate")),
        Module("senneed", "activeplans", ("sentype", "sentyperank")),
    )
}  # fmt: skip
MODULE_ORDER: tuple[str, ...] = tuple(MODULES)

# Fields that differ by guide version: field -> (first version with it, name it had before or None).
VERSIONED: dict[tuple[str, str], tuple[str, str | None]] = {
    ("person", "sex"): ("1.2", "gendercurrent"),
    ("requests", "requestsource"): ("1.3", None),
    ("activeplans", "reviewoutcome"): ("1.2", None),
    ("activeplans", "phasetransferduedate"): ("1.3", None),
    ("activeplans", "phasetransferfinaldate"): ("1.3", None),
}

FILE_PATTERN = re.compile(r"^Blade-Export_(\d{2})-(\d{2})-(\d{4})_([a-z0-9]+)\.csv$", re.I)
DATE_FORMAT = "%Y-%b-%d %H:%M:%S"  # e.g. 2022-Sep-28 00:00:00

# Identifiers: read by the importer, never written (birth date and postcode are coarsened).
IDENTIFIER_FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("surname", "forename", "personbirthdate", "postcode", "upn", "uniquelearnernumber", "NativeId"),
}

# Primary need (item 5.8a).
NEEDS: tuple[str, ...] = ("SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "DS", "OTH")
NEED_NAMES: dict[str, str] = {
    "SPLD": "specific learning difficulty", "MLD": "moderate learning difficulty",
    "SLD": "severe learning difficulty", "PMLD": "profound and multiple learning difficulty",
    "SEMH": "social, emotional and mental health", "SLCN": "speech, language and communication needs",
    "HI": "hearing impairment", "VI": "vision impairment", "MSI": "multi-sensory impairment",
    "PD": "physical disability", "ASD": "autistic spectrum disorder", "DS": "Down syndrome",
    "OTH": "other difficulty or disability",
}  # fmt: skip

# Settings without an establishment (sensetting).
SETTINGS: tuple[str, ...] = ("OLA", "OPA", "EHE", "EYP", "OTH", "NEET", "NIEC", "NIEO")
NEET_SETTINGS = ("NEET",)
EARLY_YEARS_SETTINGS = ("EYP",)

# Cease reasons (item 4.6).
CEASE_REASONS: dict[str, str] = {
    "1": "reached maximum age", "2": "needs met without a plan", "3": "higher education", "4": "paid employment",
    "5": "transferred to another LA in England", "6": "no longer wishes to engage", "7": "moved outside England",
    "8": "deceased", "9": "other",
}  # fmt: skip

# Request and assessment outcomes. The guide's own codes: A = decision to assess, N = decision
# not to assess, W = request withdrawn; assessment Y = plan to be issued, N = decision not to
# issue, W = withdrawn. A blank outcome means the decision is outstanding.
REQUEST_OUTCOMES = ("A", "N", "W")
ASSESSMENT_OUTCOMES = ("Y", "N", "W")
SEXES = ("M", "F", "U")  # ``gendercurrent`` before v1.2 used 1/2/9; mapped on read
GENDER_CURRENT = {"1": "M", "2": "F", "9": "U", "0": "U"}
UPN_UNKNOWN_REASONS = ("UN1", "UN2", "UN3", "UN4", "UN5", "UN6", "UN7", "UN8", "UN9", "UN10")
YES_NO = ("0", "1")
TRUE_CODES = ("1", "Y", "YES", "TRUE", "T")  # flags are 1/0 in the guide; some systems export Y/N
FALSE_CODES = ("0", "N", "NO", "FALSE", "F")


def flag(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(true, false) masks of a yes/no field; blank or unrecognised values are neither."""
    v = values.astype(str).str.strip().str.upper()
    return v.isin(TRUE_CODES), v.isin(FALSE_CODES)


# GIAS establishment types (TypeOfEstablishment (name)) -> placement group.
GIAS_GROUPS: dict[str, str] = {
    "Community school": "mainstream", "Voluntary aided school": "mainstream",
    "Voluntary controlled school": "mainstream", "Foundation school": "mainstream",
    "Academy converter": "mainstream", "Academy sponsor led": "mainstream", "Free schools": "mainstream",
    "University technical college": "mainstream", "Studio schools": "mainstream",
    "Other independent school": "mainstream",
    "Community special school": "state_special", "Foundation special school": "state_special",
    "Academy special converter": "state_special", "Academy special sponsor led": "state_special",
    "Free schools special": "state_special",
    "Non-maintained special school": "independent_special", "Other independent special school": "independent_special",
    "Pupil referral unit": "ap_pru", "Academy alternative provision converter": "ap_pru",
    "Academy alternative provision sponsor led": "ap_pru", "Free schools alternative provision": "ap_pru",
    "Further education": "post16_fe", "Sixth form centres": "post16_fe", "Special post 16 institution": "post16_fe",
    "Academy 16-19 converter": "post16_fe", "Academy 16-19 sponsor led": "post16_fe",
    "Free schools 16 to 19": "post16_fe",
}  # fmt: skip
# Types that do not take children or young people with EHC plans (a placement there is wrong).
GIAS_NO_EHCP: tuple[str, ...] = (
    "Higher education institutions", "Welsh establishment", "British schools overseas", "Offshore schools",
    "Miscellaneous", "Children's centre", "Children's centre linked site",
)  # fmt: skip
GIAS_COLUMNS = ("URN", "UKPRN", "EstablishmentName", "TypeOfEstablishment (name)", "EstablishmentStatus (name)")
MAINSTREAM_GROUP = "mainstream"
assert set(GIAS_GROUPS.values()) <= set(GROUPS)

# UPN check letter (DfE "Unique pupil numbers" guidance): weights 2..13 on characters 2..13,
# remainder mod 23 indexes this alphabet; a letter in position 13 (temporary UPN) counts by
# its position in the same alphabet.
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_check_letter(body: str) -> str | None:
    """The check letter for the last 12 characters of a UPN, or None if they are malformed."""
    if len(body) != 12 or not body[:11].isdigit():
        return None
    last = body[11]
    vals = [int(c) for c in body[:11]]
    if last.isdigit():
        vals.append(int(last))
    elif last in UPN_LETTERS:
        vals.append(UPN_LETTERS.index(last))
    else:
        return None
    total = sum(v * w for v, w in zip(vals, range(2, 14), strict=True))
    return UPN_LETTERS[total % 23]


def upn_valid(upn: str) -> bool:
    """True for a well-formed UPN whose check letter matches."""
    u = upn.strip().upper()
    return len(u) == 13 and upn_check_letter(u[1:]) == u[0]
