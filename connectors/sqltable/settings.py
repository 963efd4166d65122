"""Settings of one ``sqltable`` instance: the database, and per table the entity it feeds.

Everything a company writes about its ERP tables lives here, as column names: which table,
which id and timestamp columns, and how columns map to the canonical events (``mapping``,
discriminated by ``kind``). No code per company.

Example (``hub.yaml``)::

    connectors:
      erp:
        type: sqltable
        url: postgresql://erp_reader@db.internal:5432/erp
        password: ${ERP_DB_PASSWORD}
        timestamp_delay_seconds: 5
        tables:
          customers:
            table: public.customers
            id_column: id
            timestamp_column: updated_at
            mapping:
              kind: customer
              name: company_name
              emails: [email]
              vat_id: vat_no
              external_ids: {erp_customer_number: customer_no}
              created_at: created_at
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.kit.settings import ConnectorSettings

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
#: Schemes accepted in ``url`` and the async driver each one is read with.
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
    "mysql+aiomysql": "mysql+aiomysql",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}

#: An entity name: a lower-case identifier, as it names the raw topic.
EntityName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)]
Column = Annotated[str, Field(min_length=1, max_length=128, pattern=_IDENTIFIER.pattern)]
OrderStage = Literal["placed", "confirmed", "cancelled", "ignore"]
PaymentMethod = Literal["bank_transfer", "card", "direct_debit", "paypal", "cash", "other"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="after")
    def _all_problems(self) -> Self:
        """Run every ``_problems`` of the class hierarchy; report them together."""
        problems: list[str] = []
        for cls in type(self).__mro__:
            check = cls.__dict__.get("_problems")
            if check is not None:
                problems += check(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class AddressColumns(_Model):
    """Columns of a postal address on the same row."""

    street: Column
    city: Column
    country: Column = Field(description="column holding the ISO 3166-1 alpha-2 code")
    postal_code: Column | None = None
    name: Column | None = None
    region: Column | None = None


class _Priced(_Model):
    """A currency, from a column or fixed for the whole table."""

    currency: Column | None = Field(default=None, description="column holding an ISO 4217 code")
    default_currency: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="the currency when there is no currency column (or it is empty)",
    )

    def _problems(self) -> list[str]:
        if self.currency is None and self.default_currency is None:
            return ["give a currency column or a default_currency"]
        return []


class _OrderSide(_Model):
    """How a row names the order it belongs to, and the customer."""

    order_number: Column | None = Field(
        default=None, description="column holding the order number (becomes order_id)"
    )
    order_key: Column | None = Field(
        default=None,
        description="column holding the order's row id (order_id '<instance>:<value>'), "
        "for orders that have no number",
    )
    customer: Column | None = Field(
        default=None, description="column holding the customer's row id (customer_ref)"
    )

    def _problems(self) -> list[str]:
        if (self.order_number is None) == (self.order_key is None):
            return ["give exactly one of order_number and order_key"]
        return []


class CustomerMapping(_Model):
    """A customer master table -> customer.created (once) and customer.updated."""

    kind: Literal["customer"]
    name: Column
    customer_kind: Literal["company", "person"] = "company"
    emails: list[Column] = Field(default_factory=list, description="columns with e-mails")
    phones: list[Column] = Field(default_factory=list)
    domain: Column | None = None
    vat_id: Column | None = None
    external_ids: dict[str, Column] = Field(
        default_factory=dict, description="cross-reference name -> column, e.g. customer number"
    )
    address: AddressColumns | None = None
    created_at: Column | None = Field(
        default=None,
        description="creation time column: customer.created is emitted when it is set; "
        "customer.updated when the row's timestamp differs from it",
    )


class LineColumns(_Model):
    """The order-line table, read together with its order (lines have no events of their own)."""

    table: str = Field(min_length=1)
    order_column: Column = Field(description="column holding the order's id_column value")
    id_column: Column
    sku: Column
    quantity: Column
    unit_price: Column
    position: Column | None = Field(default=None, description="1-based line number column")
    description: Column | None = None
    unit: Column | None = None
    line_total: Column | None = Field(
        default=None, description="when absent: quantity x unit_price"
    )
    tax_rate: Column | None = Field(default=None, description="0.19 for 19 %")

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str) -> str:
        return check_table_name(value)


class OrderMapping(_Priced):
    """An order header table -> order.placed / order.confirmed / order.cancelled."""

    kind: Literal["order"]
    number: Column | None = Field(
        default=None, description="order number column (becomes order_id); else the row id"
    )
    customer: Column | None = None
    status: Column
    status_values: dict[str, OrderStage] = Field(
        min_length=1,
        description="status value -> stage; a value not listed is a bad record, "
        "'ignore' skips rows (e.g. quotations)",
    )
    placed_at: Column
    confirmed_at: Column | None = Field(
        default=None, description="when absent, the row's timestamp column"
    )
    cancelled_at: Column | None = None
    cancel_reason: Column | None = None
    total: Column
    tax_total: Column | None = None
    requested_delivery_date: Column | None = None
    promised_delivery_date: Column | None = None
    channel: Literal[
        "web", "shop", "phone", "email", "sales_rep", "marketplace", "edi", "other"
    ] = "other"
    lines: LineColumns | None = Field(
        default=None, description="order.placed needs lines: where to read them"
    )


class ShipmentMapping(_OrderSide):
    """A delivery table -> shipment.dispatched / shipment.delivered."""

    kind: Literal["shipment"]
    dispatched_at: Column
    delivered_at: Column | None = None
    carrier: Column | None = None
    default_carrier: str = Field(default="unknown", min_length=1)
    tracking_number: Column | None = None
    received_by: Column | None = None


class InvoiceMapping(_OrderSide, _Priced):
    """An invoice table -> invoice.issued (once the issue date is set)."""

    kind: Literal["invoice"]
    number: Column
    issued_at: Column
    due_date: Column | None = None
    total: Column
    tax_total: Column | None = None


class PaymentMapping(_OrderSide, _Priced):
    """A payment table -> payment.received."""

    kind: Literal["payment"]
    received_at: Column
    amount: Column
    invoice_number: Column | None = None
    method: Column | None = None
    method_values: dict[str, PaymentMethod] = Field(default_factory=dict)
    default_method: PaymentMethod = "other"
    reference: Column | None = None


Mapping = Annotated[
    CustomerMapping | OrderMapping | ShipmentMapping | InvoiceMapping | PaymentMapping,
    Field(discriminator="kind"),
]


#: Mapping fields whose values are constants or value maps, not column names.
_NOT_COLUMNS = frozenset(
    {
        "kind",
        "customer_kind",
        "channel",
        "default_currency",
        "default_carrier",
        "default_method",
        "status_values",
        "method_values",
        "lines",
        "table",
        "order_column",
        "id_column",
    }
)


def mapped_columns(mapping: BaseModel) -> set[str]:
    """Every column name a mapping (or line/address block) refers to on its own table."""
    out: set[str] = set()
    for name in type(mapping).model_fields:
        if name in _NOT_COLUMNS:
            continue
        value = getattr(mapping, name)
        if isinstance(value, str):
            out.add(value)
        elif isinstance(value, list):
            out.update(v for v in value if isinstance(v, str))
        elif isinstance(value, dict):
            out.update(v for v in value.values() if isinstance(v, str))
        elif isinstance(value, BaseModel):
            out |= mapped_columns(value)
    return out


#: Mapping fields holding numbers and date-times: the source checks they parse.
NUMBER_FIELDS = frozenset(
    {"total", "tax_total", "amount", "quantity", "unit_price", "line_total", "tax_rate"}
)
TIME_FIELDS = frozenset(
    {
        "created_at",
        "placed_at",
        "confirmed_at",
        "cancelled_at",
        "dispatched_at",
        "delivered_at",
        "issued_at",
        "received_at",
    }
)


def typed_columns(mapping: BaseModel) -> tuple[list[str], list[str]]:
    """``(number columns, date-time columns)`` a mapping (or line block) reads."""
    numbers = [v for f in NUMBER_FIELDS if isinstance(v := getattr(mapping, f, None), str)]
    times = [v for f in TIME_FIELDS if isinstance(v := getattr(mapping, f, None), str)]
    return numbers, times


def check_table_name(value: str) -> str:
    """``table`` or ``schema.table``, each part a plain SQL identifier (quoted when used)."""
    parts = value.split(".")
    if len(parts) > 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ValueError(f"{value!r} is not a table name ('table' or 'schema.table')")
    return value


class TableSettings(_Model):
    """One ERP table read incrementally by (timestamp, id) into one entity."""

    table: str = Field(min_length=1, description="'table' or 'schema.table' (a view works too)")
    id_column: Column = Field(description="unique, comparable key: the tie-break of the cursor")
    timestamp_column: Column = Field(description="modification time, set on every write")
    columns: list[Column] | None = Field(
        default=None,
        description="columns to read (id, timestamp and mapped columns are always added); "
        "all when absent",
    )
    mapping: Mapping

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str) -> str:
        return check_table_name(value)


class SqlTableSettings(ConnectorSettings):
    """An ERP database read table by table; see the package docstring for the semantics."""

    url: str = Field(
        description="SQLAlchemy-style URL without the password, e.g. "
        "postgresql://reader@host:5432/erp, mariadb://reader@host:3306/erp, sqlite:///erp.db"
    )
    password: SecretStr | None = Field(default=None, description="database password")
    timestamp_delay_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="only rows whose timestamp is older than the database's now minus this "
        "are read, so a transaction committing late with an earlier timestamp is not skipped",
    )
    timezone: str = Field(
        default="UTC",
        description="zone of timestamp columns without a time zone "
        "(PostgreSQL timestamp, MariaDB DATETIME)",
    )
    connect_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    tables: dict[EntityName, TableSettings] = Field(
        min_length=1, description="entity name -> table; the raw topic is raw.<instance>.<entity>"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in DRIVERS:
            raise ValueError(f"url scheme must be one of {sorted(DRIVERS)}, got {scheme!r}")
        authority = rest.split("/", 1)[0]
        if "@" in authority and ":" in authority.split("@", 1)[0]:
            raise ValueError("put the password in 'password' (e.g. ${ERP_DB_PASSWORD}), not url")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


__all__ = [
    "AddressColumns",
    "CustomerMapping",
    "InvoiceMapping",
    "LineColumns",
    "Mapping",
    "OrderMapping",
    "PaymentMapping",
    "ShipmentMapping",
    "SqlTableSettings",
    "TableSettings",
    "mapped_columns",
    "typed_columns",
]
