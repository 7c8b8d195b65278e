"""Query schedules of the REST binding (``rest/query-schedule.json``): cron-like fields ``second``,
``minute``, ``hour``, ``dayOfMonth``, ``month``, ``dayOfWeek`` (1 = Monday), each a comma-separated
list of numbers and ``[a-b]`` ranges; an omitted field matches every value, as in EPCIS 1.2's
QuerySchedule. The official schema's patterns use Ruby regex syntax, so the fields are parsed here.
"""

import re
from datetime import datetime, timedelta

from service.errors import InvalidInput

FIELDS = {"second": (0, 59), "minute": (0, 59), "hour": (0, 23), "dayOfMonth": (1, 31), "month": (1, 12), "dayOfWeek": (1, 7)}
_ELEMENT = re.compile(r"^(?:(\d{1,2})|\[(\d{1,2})-(\d{1,2})\])$")
_HORIZON_DAYS = 366 * 8  # a schedule that does not fire within eight years (29 February on a Monday) is refused


def parse(schedule: object) -> dict[str, frozenset[int]]:
    """The values each field allows; InvalidInput naming ``schedule.<field>``."""
    if not isinstance(schedule, dict) or not schedule:
        raise InvalidInput("schedule: an object with at least one of " + ", ".join(FIELDS), field="schedule")
    parsed = {}
    for name, (low, high) in FIELDS.items():
        raw = schedule.get(name)
        if raw is None:
            parsed[name] = frozenset(range(low, high + 1))
            continue
        values: set[int] = set()
        for element in str(raw).split(",") if isinstance(raw, str) else [None]:
            match = _ELEMENT.match(element.strip()) if element is not None else None
            start, end = (int(match[1]), int(match[1])) if match and match[1] else (int(match[2]), int(match[3])) if match else (1, 0)
            if not match or not low <= start <= end <= high:
                raise InvalidInput(f"schedule.{name}: numbers {low}-{high} and [a-b] ranges, comma-separated, not {raw!r}",
                                   field=f"schedule.{name}")
            values.update(range(start, end + 1))
        parsed[name] = frozenset(values)
    unknown = set(schedule) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"schedule: unknown field {sorted(unknown)[0]!r}", field=f"schedule.{sorted(unknown)[0]}")
    if next_run(parsed, datetime(2000, 1, 1)) is None:
        raise InvalidInput("schedule: never fires", field="schedule")
    return parsed


def next_run(fields: dict[str, frozenset[int]], after: datetime) -> datetime | None:
    """The first moment strictly after ``after`` (to the second) the schedule allows."""
    start = after.replace(microsecond=0) + timedelta(seconds=1)
    for offset in range(_HORIZON_DAYS):
        day = (start + timedelta(days=offset)).date()
        if day.month not in fields["month"] or day.day not in fields["dayOfMonth"] or day.isoweekday() not in fields["dayOfWeek"]:
            continue
        for hour in sorted(fields["hour"]):
            for minute in sorted(fields["minute"]):
                for second in sorted(fields["second"]):
                    moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=start.tzinfo)
                    if moment >= start:
                        return moment
    return None
