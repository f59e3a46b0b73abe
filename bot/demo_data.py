"""Demo applications and offices for trying the assistant and for tests.

Everything here is fictional: names, ID numbers (valid in form only, with a computed check
character), addresses and phone numbers. There is one application in every status; each
record's ``id_tail`` is what to type when the assistant asks for the last six characters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy.engine import Engine

from bot.applications import (
    ApplicationRecord,
    UpsertOutcome,
    find_application_row,
    upsert_application,
)
from bot.db import session_scope
from bot.identifiers import resident_id_check_character
from bot.offices import OfficeView, upsert_office
from bot.statuses import ApplicationStatus as S


def _resident_id(area: str, birth_date: str, sequence: str) -> str:
    first17 = area + birth_date + sequence
    return first17 + resident_id_check_character(first17)


DEMO_OFFICES: tuple[OfficeView, ...] = (
    OfficeView(
        name="Dongcheng Social Security Service Centre",
        district="Dongcheng",
        address="16 Heping Lane North, Dongcheng District, Beijing",
        hours="Mon-Fri 9:00-17:00",
        phone="010-6401 2301",
    ),
    OfficeView(
        name="Xicheng Social Security Service Centre",
        district="Xicheng",
        address="42 Yuetan West Street, Xicheng District, Beijing",
        hours="Mon-Fri 9:00-17:00",
        phone="010-6602 4512",
    ),
    OfficeView(
        name="Chaoyang Social Security Service Centre",
        district="Chaoyang",
        address="9 Chaoyang Park Road, Chaoyang District, Beijing",
        hours="Mon-Fri 9:00-17:00, Sat 9:00-12:00",
        phone="010-6590 3188",
    ),
    OfficeView(
        name="Wangjing Social Security Service Point",
        district="Chaoyang",
        address="3 Wangjing Middle Ring Road, Chaoyang District, Beijing",
        hours="Mon-Fri 8:30-16:30",
        phone="010-6473 5520",
    ),
    OfficeView(
        name="Haidian Social Security Service Centre",
        district="Haidian",
        address="27 Zhongguancun South Road, Haidian District, Beijing",
        hours="Mon-Fri 9:00-17:00",
        phone="010-6251 7706",
    ),
    OfficeView(
        name="Fengtai Social Security Service Centre",
        district="Fengtai",
        address="88 Fengtai Town Road, Fengtai District, Beijing",
        hours="Mon-Fri 9:00-17:00",
        phone="010-6381 9043",
    ),
)

DEMO_APPLICATIONS: tuple[ApplicationRecord, ...] = (
    ApplicationRecord(
        application_number="SC2026000101",
        holder_name="张小明",
        holder_id_number=_resident_id("110101", "20190312", "013"),
        status=S.SUBMITTED,
        updated_at=date(2026, 11, 2),
    ),
    ApplicationRecord(
        application_number="SC2026000102",
        holder_name="Li Xiaohong",
        holder_id_number=_resident_id("110102", "20170825", "014"),  # check character X
        status=S.UNDER_REVIEW,
        updated_at=date(2026, 10, 28),
    ),
    ApplicationRecord(
        application_number="SC2026000103",
        holder_name="Wang Lei",
        holder_id_number=_resident_id("110105", "20200114", "011"),
        status=S.IN_PRODUCTION,
        updated_at=date(2026, 10, 20),
    ),
    ApplicationRecord(
        application_number="SC2026000104",
        holder_name="Zhang Xiaoming",
        holder_id_number=_resident_id("110105", "20180607", "015"),  # check character X
        status=S.READY_FOR_COLLECTION,
        updated_at=date(2026, 10, 15),
        collection_point="Chaoyang Social Security Service Centre, 9 Chaoyang Park Road, window 3",
    ),
    ApplicationRecord(
        application_number="SC2026000105",
        holder_name="Chen Yutong",
        holder_id_number=_resident_id("110108", "20160930", "014"),
        status=S.COLLECTED,
        updated_at=date(2026, 9, 30),
        collection_point="Haidian Social Security Service Centre, 27 Zhongguancun South Road",
    ),
    ApplicationRecord(
        application_number="SC2026000106",
        holder_name="Liu Haoran",
        holder_id_number=_resident_id("110106", "20210402", "011"),
        status=S.REJECTED,
        updated_at=date(2026, 10, 9),
        note="Photo does not meet the requirements: please submit a new photo.",
    ),
)

# The road each demo application took before its current status, so `applications show`
# has a history to show. Dates are oldest first and end before the record's updated_at.
_EARLIER_STEPS: dict[str, tuple[tuple[S, date], ...]] = {
    "SC2026000102": ((S.SUBMITTED, date(2026, 10, 21)),),
    "SC2026000103": ((S.SUBMITTED, date(2026, 10, 8)), (S.UNDER_REVIEW, date(2026, 10, 12))),
    "SC2026000104": (
        (S.SUBMITTED, date(2026, 9, 22)),
        (S.UNDER_REVIEW, date(2026, 9, 25)),
        (S.IN_PRODUCTION, date(2026, 10, 1)),
    ),
    "SC2026000105": (
        (S.SUBMITTED, date(2026, 8, 25)),
        (S.UNDER_REVIEW, date(2026, 8, 28)),
        (S.IN_PRODUCTION, date(2026, 9, 3)),
        (S.READY_FOR_COLLECTION, date(2026, 9, 15)),
    ),
    "SC2026000106": ((S.SUBMITTED, date(2026, 10, 2)),),
}


@dataclass(frozen=True)
class DemoLoadReport:
    """What loading the demo data did: one outcome per demo application and office."""

    applications: tuple[UpsertOutcome, ...]
    offices: tuple[UpsertOutcome, ...]


def load_demo_data(engine: Engine) -> DemoLoadReport:
    """Write the demo applications and offices; running it again changes nothing.

    A demo application that is not in the database yet is walked through its earlier
    statuses first, so it has a realistic history; one that exists is reset to its demo
    values (recording a status change if staff had changed it).
    """
    application_outcomes = []
    with session_scope(engine) as session:
        for record in DEMO_APPLICATIONS:
            if find_application_row(session, record.application_number) is None:
                for status, changed_at in _EARLIER_STEPS.get(record.application_number, ()):
                    step = replace(
                        record,
                        status=status,
                        updated_at=changed_at,
                        collection_point=None,
                        note=None,
                    )
                    upsert_application(session, step)
                upsert_application(session, record)
                application_outcomes.append("inserted")
            else:
                application_outcomes.append(upsert_application(session, record))
        office_outcomes = tuple(upsert_office(session, office) for office in DEMO_OFFICES)
    return DemoLoadReport(tuple(application_outcomes), office_outcomes)
