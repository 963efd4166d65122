"""Building blocks of the canonical model: classification labels and the model bases.

Every field of every canonical payload is classified where it is defined, with
:func:`classified`. The label travels in the field's JSON Schema (``x-classification``,
``x-pii``), so routing policies, the schema snapshots and the generated docs all read the
same declaration. Models are strict, frozen and reject unknown fields: a translator that
builds one from Python passes real ``Decimal``/``datetime`` values, and a reader validating
JSON (``model_validate_json``) gets ISO strings and decimal strings accepted but naive
timestamps, unknown enum values and unknown fields rejected.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self, TypeAlias

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticUndefined

from schemas.codes import CountryCode, CurrencyCode

CLASSIFICATION_KEY = "x-classification"
PII_KEY = "x-pii"


class Classification(StrEnum):
    """How sensitive a field is; departments are cleared up to one level."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        """0 (public) .. 3 (restricted): higher is more sensitive."""
        return _RANK[self]

    # StrEnum would compare the strings alphabetically; sensitivity is what matters.
    def __lt__(self, other: object) -> bool:
        if isinstance(other, Classification):
            return self.rank < other.rank
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Classification):
            return self.rank <= other.rank
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Classification):
            return self.rank > other.rank
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Classification):
            return self.rank >= other.rank
        return NotImplemented

    __hash__ = StrEnum.__hash__


_RANK = {
    Classification.PUBLIC: 0,
    Classification.INTERNAL: 1,
    Classification.CONFIDENTIAL: 2,
    Classification.RESTRICTED: 3,
}


def classified(
    level: Classification,
    *,
    pii: bool = False,
    default: Any = PydanticUndefined,
    **kw: Any,
) -> Any:
    """A pydantic ``Field`` labelled with its classification and PII flag.

    Other ``Field`` keywords (``description``, ``default_factory``, ``min_length``, ...)
    pass through unchanged.
    """
    extra = dict(kw.pop("json_schema_extra", None) or {})
    extra[CLASSIFICATION_KEY] = Classification(level).value
    extra[PII_KEY] = pii
    return Field(default, json_schema_extra=extra, **kw)


_CONFIG = ConfigDict(frozen=True, extra="forbid", strict=True)


class Part(BaseModel):
    """Base of nested value objects (Money, Address, OrderLine, SourceRef, ...)."""

    model_config = _CONFIG


class CanonicalModel(BaseModel):
    """Base of every canonical event payload; one subclass per (type, version)."""

    model_config = _CONFIG

    #: CloudEvents ``type`` of the payload, e.g. ``"order.placed"``.
    event_type: ClassVar[str]
    #: Schema version of this model; bumped on any breaking change (with an upcaster).
    version: ClassVar[int]

    @classmethod
    def example(cls) -> Self:
        """A realistic instance, used by tests, docs and the AsyncAPI document."""
        raise NotImplementedError(f"{cls.__name__} has no example")


def field_value(model: BaseModel, name: str) -> Any:
    """``getattr(model, name, None)`` for a field name: the value of ``model``'s field
    ``name``, or None when it has no such field.

    Translators ask payloads of several types for a field only some of them have (an
    order id, a customer reference, a time). For a name a model lacks, ``getattr`` goes
    through pydantic's ``__getattr__`` and two raised ``AttributeError``: about 20,000
    instructions, more than the whole event id costs. The fields of these models (no
    extra fields allowed) are exactly the instance's ``__dict__``.
    """
    return model.__dict__.get(name)


# --- constrained scalar types shared by the domain models -------------------------------

#: A non-negative decimal amount of goods (pieces, kg, hours).
Quantity: TypeAlias = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6)]
#: A non-empty identifier as a source or the hub assigns it.
Id: TypeAlias = Annotated[str, Field(min_length=1, max_length=200)]
#: A timezone-aware timestamp (naive datetimes are rejected).
Timestamp: TypeAlias = AwareDatetime
#: An e-mail address: deliberately loose (sources hold messy data), but never blank.
Email: TypeAlias = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
#: A phone number as the source wrote it (digits, spaces, +, -, parentheses, dots).
Phone: TypeAlias = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[0-9+()./ \-]+$")]

__all__ = [
    "CLASSIFICATION_KEY",
    "PII_KEY",
    "CanonicalModel",
    "Classification",
    "CountryCode",
    "CurrencyCode",
    "Email",
    "Id",
    "Part",
    "Phone",
    "Quantity",
    "Timestamp",
    "classified",
    "field_value",
]
