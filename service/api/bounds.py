"""Bounds every request value shares: lengths, ranges, no control characters.

One place for the limits the API's schema states (and so its OpenAPI document shows):
a year 2000–2100, a database id up to 2^31 − 1, short codes and names on one line, longer
texts (reasons, opinions) that may hold line breaks and tabs but no other control
character (a NUL byte is refused everywhere). A value out of bounds is a 422 with the
usual error body, never a 500 from the database.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Form, Header, Path, Query
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from blueprint.analysis.clock import read_day_or_time
from blueprint.layers.inputs import (
    CODE_LEN,
    MAX_ID,
    MAX_YEAR,
    MIN_YEAR,
    NAME_LEN,
    ONE_LINE,
    TEXT,
    TEXT_LEN,
)

__all__ = ["CODE_LEN", "MAX_ID", "MAX_YEAR", "MIN_YEAR", "NAME_LEN", "ONE_LINE", "TEXT",
           "TEXT_LEN"]

MAX_OFFSET = 2**31 - 1
MAX_AMOUNT = Decimal(10) ** 12
MAX_FLOAT = 1e12
KEY_LEN = 180  # idempotency keys (scoped to the actor: stored with a 14-character prefix)



def _refusing_booleans(expected: str, expected_zh: str) -> BeforeValidator:
    """A check run before a number is read: JSON's ``true`` and ``false`` are no numbers
    (pydantic alone reads them as 1 and 0, so ``"area_m2": true`` was 1 m²)."""

    def not_a_boolean(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(
                "bool_as_number", "Input should be {expected}, not true or false",
                {"expected": expected, "expected_zh": expected_zh})
        return value

    return BeforeValidator(not_a_boolean)


# Every number of every request body is one of these (tests/test_api_numbers.py checks it):
# a JSON number (or a numeric string, as before), never a boolean.
NUMBER_NOT_BOOLEAN = _refusing_booleans("a number", "数字")
INTEGER_NOT_BOOLEAN = _refusing_booleans("an integer", "整数")
Number = Annotated[float, Field(allow_inf_nan=False), NUMBER_NOT_BOOLEAN]
Integer = Annotated[int, INTEGER_NOT_BOOLEAN]



def _two_numbers(value: Any) -> Any:
    """A point is a JSON array of two numbers, longitude then latitude: anything else (a
    text "116,36", one number, three) is refused as a whole, saying so."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise PydanticCustomError("lon_lat", "Input should be an array of two numbers: "
                                  "[longitude, latitude]")
    return value


Lon = Annotated[Number, Field(ge=70.0, le=140.0)]
Lat = Annotated[Number, Field(ge=0.0, le=60.0)]
# a point in China, [lon, lat] in degrees (CGCS2000); each number checked in its range
LonLat = Annotated[tuple[Lon, Lat], BeforeValidator(_two_numbers)]

Code = Annotated[str, StringConstraints(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]
# a key of KEY=AMOUNT pairs (emissions): no '=' or ',' (the pairs are parsed as text)
PairKey = Annotated[str, StringConstraints(min_length=1, max_length=CODE_LEN,
                                           pattern=r"^[^=,\x00-\x1f\x7f]*$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LEN, pattern=ONE_LINE)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_LEN, pattern=TEXT)]
Year = Annotated[Integer, Field(ge=MIN_YEAR, le=MAX_YEAR)]
DbId = Annotated[Integer, Field(ge=1, le=MAX_ID)]
Amount = Annotated[Decimal, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, allow_inf_nan=False),
                   NUMBER_NOT_BOOLEAN]
Quantity = Annotated[Number, Field(ge=-MAX_FLOAT, le=MAX_FLOAT)]
Days = Annotated[Integer, Field(ge=1, le=366)]


def _day_or_time(text: str) -> str:
    """A date or an ISO 8601 time, kept as it was sent: what it means (a date: which moment
    of the day) is the handler's to say, through the same function as the CLI's; anything
    else refused as pydantic refuses a time it cannot read (the field named)."""
    if read_day_or_time(text) is None:
        raise PydanticCustomError("datetime_parsing", "Input should be a date (YYYY-MM-DD) or "
                                  "an ISO 8601 time (YYYY-MM-DDTHH:MM[:SS][+08:00])")
    return text


# A moment a person gives (``as_of``, ``since``, ``until``): the text, checked to be a date
# or a time; its year (2000–2100 in China) and meaning are read by :mod:`analysis.clock`.
DayOrTime = Annotated[str, StringConstraints(max_length=40, pattern=ONE_LINE),
                      AfterValidator(_day_or_time)]

# Parameters (path, query, header) with the same bounds.
CodePath = Annotated[str, Path(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]
NamePath = Annotated[str, Path(min_length=1, max_length=NAME_LEN, pattern=ONE_LINE)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
CodeQuery = Annotated[str | None, Query(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]
YearQuery = Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR, description="Only this year")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
KeyHeader = Annotated[str, Header(
    alias="Idempotency-Key", min_length=1, max_length=KEY_LEN, pattern=ONE_LINE,
    description="Idempotency key (1–180 characters, one line); a replay by the same user "
                "returns the first result")]
NameQuery = Annotated[str | None, Query(min_length=1, max_length=NAME_LEN, pattern=ONE_LINE)]
CodeForm = Annotated[str, Form(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]
OptCodeForm = Annotated[str | None, Form(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]
OptNameForm = Annotated[str | None, Form(min_length=1, max_length=NAME_LEN, pattern=ONE_LINE)]
