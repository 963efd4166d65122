"""The demo company: Bergmann Büromöbel, an office-furniture maker selling to businesses.

It keeps its customers in three systems under different ids -- the ERP (Odoo: partner with
the customer number in ``ref`` and the VAT id), the CRM (HubSpot: company with the ERP
customer number in ``erp_customer_number`` and the same web domain, contacts on it) and the
helpdesk (Zendesk: organization with the customer number and the domain, requesters with
e-mail addresses on it) -- and works them through a compressed calendar:

* quotations are sent, confirmed, invoiced up front, paid, shipped and delivered; some are
  dispatched late (the dispatch SLA breaks), a few are cancelled;
* every quotation is a CRM deal, won when the order is confirmed; new prospects arrive as
  CRM leads, and some convert: they become ERP and helpdesk customers and start ordering;
* customers write to the helpdesk about their orders (the order number in the subject):
  "where is my order" for late ones, complaints that escalate to urgent (some answered
  again after the solve, which reopens them), return requests;
  a requested return is booked in the ERP (an incoming return picking of one article of the
  delivery, reason ``wrong_item``) and received two days later.

Everything is driven by one :class:`random.Random` seeded from ``seed``: the same seed gives
the same customers, the same orders and the same actions in the same order. Time is
compressed: a simulated day lasts ``day_seconds`` real seconds; the systems stamp records
with the real clock, so event times and SLA deadlines (scaled by the same factor, see
:mod:`hub.demo.config`) stay coherent.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.hubspot.emulator import HubSpotEmulator
from connectors.odoo.emulator import OdooEmulator
from connectors.zendesk.emulator import ZendeskEmulator

log = logging.getLogger(__name__)

DAY_SECONDS = 10.0
#: Entries of :attr:`Company.log` kept (the latest).
LOG_SIZE = 10_000
#: Scenario weights of a new order (the first wave is fixed, see ``FIRST_WAVE``).
SCENARIOS: dict[str, float] = {
    "normal": 0.50,
    "late": 0.15,
    "complaint": 0.12,
    "return": 0.08,
    "question": 0.08,
    "cancelled": 0.04,
    "lost": 0.03,
}
#: Share of complaints whose customer answers the solved ticket (the replacement is damaged
#: too): the ticket is reopened, and solved again a day or two later.
REOPENED_COMPLAINTS = 0.4
#: The orders on hand when the demo starts, so every story shows in the first minutes.
FIRST_WAVE = ("late", "normal", "complaint", "normal", "late", "return", "question", "normal")

PRODUCTS: tuple[tuple[str, str, float], ...] = (
    ("DESK-OAK-160", "Oak desk 160 x 80 cm", 649.0),
    ("DESK-SIT-STAND", "Sit-stand desk, electric", 899.0),
    ("CHAIR-ERGO", "Ergonomic office chair", 389.0),
    ("CHAIR-VISITOR", "Visitor chair, stackable", 129.0),
    ("CAB-LOCK-3", "Lockable pedestal, 3 drawers", 279.0),
    ("SHELF-8", "Shelving unit, 8 compartments", 219.0),
    ("LAMP-LED", "LED desk lamp", 59.0),
    ("PANEL-ACOUSTIC", "Acoustic desk panel", 149.0),
    ("TABLE-CONF-8", "Conference table for 8", 1490.0),
)
_FAMILY = (
    "Kessler", "Brandt", "Hofmann", "Lindner", "Verhoeven", "Moreau", "Baumann", "Novak",
    "Albrecht", "Weiss", "Krüger", "Janssen", "Dubois", "Huber", "Steiner", "Vogel",
    "Schäfer", "de Vries", "Lambert", "Gruber", "Keller", "Peeters", "Roth", "Winter",
)  # fmt: skip
_TRADE = (
    "Logistik", "Architekten", "Consulting", "Bau", "Software", "Steuerberatung", "Medien",
    "Praxisbedarf", "Hotels", "Immobilien", "Versicherungen", "Druck", "Energie", "Labor",
)  # fmt: skip
_FIRST = (
    "Anna", "Jonas", "Lea", "Felix", "Marie", "Lukas", "Sofia", "David", "Laura", "Elias",
    "Clara", "Noah", "Emma", "Paul", "Mila", "Tim", "Nina", "Jan", "Julia", "Max",
)  # fmt: skip
_LAST = (
    "Weber", "Schmidt", "Meyer", "Wagner", "Becker", "Schulz", "Koch", "Richter", "Klein",
    "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun", "Hartmann", "Lange", "Werner",
)  # fmt: skip
#: country -> (legal form, top-level domain, city, postal code, street)
_COUNTRIES: dict[str, tuple[str, str, str, str, str]] = {
    "DE": ("GmbH", "de", "Köln", "50667", "Hohe Straße"),
    "AT": ("GmbH", "at", "Wien", "1010", "Kärntner Straße"),
    "NL": ("B.V.", "nl", "Utrecht", "3511", "Oudegracht"),
    "FR": ("SAS", "fr", "Lyon", "69002", "Rue de la République"),
    "CH": ("AG", "ch", "Zürich", "8001", "Bahnhofstrasse"),
}
_COUNTRY_WEIGHTS = {"DE": 0.55, "AT": 0.15, "NL": 0.12, "FR": 0.1, "CH": 0.08}


@dataclass
class Customer:
    """One customer company and where it lives in each system."""

    number: str  # ERP customer number (Odoo ref, HubSpot/Zendesk erp_customer_number)
    name: str  # legal name as the ERP has it
    short: str  # as sales and support write it
    domain: str
    vat: str
    country: str
    city: str
    zip: str
    street: str
    contact: tuple[str, str]  # first and last name of the buyer
    erp_id: int | None = None
    crm_company: str | None = None
    crm_contact: str | None = None
    helpdesk_org: int | None = None
    helpdesk_user: int | None = None

    @property
    def email(self) -> str:
        first, last = (_slug(p, ".") for p in self.contact)
        return f"{first}.{last}@{self.domain}"


@dataclass
class Order:
    customer: Customer
    scenario: str
    erp_id: int
    number: str
    total: float
    deal: str | None = None
    picking: int | None = None
    invoice: int | None = None
    ticket: int | None = None
    returned: int | None = None  # the ERP return picking


def _slug(text: str, sep: str = "") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", sep, ascii_text).strip(sep)


@dataclass(order=True)
class _Action:
    due: float  # simulated days since the start
    seq: int
    label: str = field(compare=False)
    run: Callable[[], None] = field(compare=False)


class Scheduler:
    """Actions at simulated times; executed in (time, creation) order, never concurrently."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[_Action] = []
        self._seq = itertools.count()
        self.done = 0
        self.failed = 0

    def at(self, delay_days: float, label: str, run: Callable[[], None]) -> None:
        heapq.heappush(self._queue, _Action(self.now + delay_days, next(self._seq), label, run))

    def next_due(self) -> float | None:
        return self._queue[0].due if self._queue else None

    def advance(self, to: float) -> int:
        """Run every action due up to ``to`` (simulated days); returns how many ran."""
        ran = 0
        while self._queue and self._queue[0].due <= to:
            action = heapq.heappop(self._queue)
            self.now = max(self.now, action.due)
            try:
                action.run()
                self.done += 1
            except Exception:  # one broken step must not stop the company
                self.failed += 1
                log.exception("demo action %r failed", action.label)
            ran += 1
        self.now = max(self.now, to)
        return ran


class Company:
    """The simulated company working its ERP, CRM and helpdesk."""

    def __init__(
        self,
        erp: OdooEmulator,
        crm: HubSpotEmulator,
        helpdesk: ZendeskEmulator | None,
        *,
        seed: int = 7,
        customers: int = 30,
        day_seconds: float = DAY_SECONDS,
    ) -> None:
        if not 1 <= customers <= len(_FAMILY) * len(_TRADE) // 2:
            raise ValueError(f"customers must be between 1 and {len(_FAMILY) * len(_TRADE) // 2}")
        self.erp, self.crm, self.helpdesk = erp, crm, helpdesk
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, no secrets
        self.day_seconds = day_seconds
        self.scheduler = Scheduler()
        self._names = self._name_pool()
        self._numbers = itertools.count(10001)
        self.customers: list[Customer] = [self._new_customer() for _ in range(customers)]
        self.prospects: list[Customer] = []
        self.orders: list[Order] = []
        #: complaints the customer answered after their solve
        self.reopened = 0
        self.log: list[str] = []  # what happened, in order (determinism checks, the banner)
        self.agent: int | None = None  # the helpdesk agent who answers

    # --- the cast ------------------------------------------------------------------------

    def _name_pool(self) -> list[tuple[str, str]]:
        pool = [(f, t) for f in _FAMILY for t in _TRADE]
        self.rng.shuffle(pool)
        return pool

    def _new_customer(self) -> Customer:
        family, trade = self._names.pop()
        country = self.rng.choices(list(_COUNTRY_WEIGHTS), list(_COUNTRY_WEIGHTS.values()))[0]
        legal, tld, city, zip_code, street = _COUNTRIES[country]
        short = f"{family} {trade}"
        return Customer(
            number=str(next(self._numbers)),
            name=f"{short} {legal}",
            short=short,
            domain=f"{_slug(family, '-')}-{_slug(trade, '-')}.{tld}",
            vat=self._vat(country),
            country=country,
            city=city,
            zip=zip_code,
            street=f"{street} {self.rng.randint(1, 120)}",
            contact=(self.rng.choice(_FIRST), self.rng.choice(_LAST)),
        )

    def _vat(self, country: str) -> str:
        digits = "".join(str(self.rng.randint(0, 9)) for _ in range(9))
        return {
            "DE": f"DE{digits}",
            "AT": f"ATU{digits[:8]}",
            "NL": f"NL{digits}B01",
            "FR": f"FR{digits[:2]}{digits}",
            "CH": f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]} MWST",
        }[country]

    def _note(self, text: str) -> None:
        self.log.append(f"day {self.scheduler.now:6.2f}: {text}")
        del self.log[:-LOG_SIZE]
        log.debug("demo: %s", text)

    # --- the three systems -----------------------------------------------------------------

    def _enter_erp(self, c: Customer) -> None:
        c.erp_id = self.erp.add_partner(
            c.name,
            email=f"info@{c.domain}",
            phone=f"+{self.rng.randint(30, 49)} {self.rng.randint(100, 999)} "
            f"{self.rng.randint(100000, 999999)}",
            vat=c.vat,
            ref=c.number,
            website=f"https://www.{c.domain}",
            street=c.street,
            zip=c.zip,
            city=c.city,
            country_code=c.country,
        )

    def _enter_crm(self, c: Customer, *, lifecyclestage: str = "customer") -> None:
        if c.crm_company is None:
            c.crm_company = self.crm.add_company(
                name=c.short,
                domain=c.domain,
                erp_customer_number=c.number if c.erp_id is not None else None,
                properties={"city": c.city, "country": c.country},
            )
            c.crm_contact = self.crm.add_contact(
                email=c.email,
                firstname=c.contact[0],
                lastname=c.contact[1],
                company_id=c.crm_company,
                lifecyclestage=lifecyclestage,
            )

    def _enter_helpdesk(self, c: Customer) -> None:
        if self.helpdesk is None or c.helpdesk_org is not None:
            return
        c.helpdesk_org = self.helpdesk.add_organization(
            c.name, domain_names=[c.domain], organization_fields={"erp_customer_number": c.number}
        )
        c.helpdesk_user = self.helpdesk.add_user(
            " ".join(c.contact), c.email, organization_id=c.helpdesk_org
        )

    def setup(self) -> None:
        """The state on day 0: every customer in all three systems, the first orders."""
        if self.helpdesk is not None:
            self.agent = self.helpdesk.add_user(
                "Petra Support", "support@bergmann-bueromoebel.de", role="agent"
            )
        for c in self.customers:
            self._enter_erp(c)
            self._enter_crm(c)
            self._enter_helpdesk(c)
        self._note(f"{len(self.customers)} customers in ERP, CRM and helpdesk")
        for i, scenario in enumerate(FIRST_WAVE):
            customer = self.customers[i % len(self.customers)]
            self.scheduler.at(0.02 + 0.08 * i, "first wave", self._quote_later(customer, scenario))
        self.scheduler.at(0.5, "day", self._day)
        self.scheduler.at(0.3, "new lead", self._new_lead)

    # --- daily business ----------------------------------------------------------------

    def _day(self) -> None:
        """Each simulated day: new quotations, the odd new lead; then the next day."""
        for _ in range(self.rng.randint(1, 3)):
            customer = self.rng.choice(self.customers)
            scenario = self.rng.choices(list(SCENARIOS), list(SCENARIOS.values()))[0]
            self.scheduler.at(
                self.rng.uniform(0, 0.9), "quote", self._quote_later(customer, scenario)
            )
        if self.rng.random() < 0.5:
            self.scheduler.at(self.rng.uniform(0, 0.9), "new lead", self._new_lead)
        self.scheduler.at(1.0, "day", self._day)

    def _quote_later(self, customer: Customer, scenario: str) -> Callable[[], None]:
        return lambda: self._quote(customer, scenario)

    def _quote(self, c: Customer, scenario: str) -> None:
        assert c.erp_id is not None  # noqa: S101 - only ERP customers get quotations
        picks = self.rng.sample(PRODUCTS, self.rng.randint(1, 3))
        lines = [
            (sku, float(self.rng.choice((1, 2, 4, 6, 10, 12))), price, name)
            for sku, name, price in picks
        ]
        erp_id = self.erp.add_order(
            c.erp_id, lines, client_order_ref=f"PO-{self.rng.randint(1000, 9999)}"
        )
        record = self.erp.record("sale.order", erp_id)
        order = Order(c, scenario, erp_id, str(record["name"]), float(record["amount_total"]))
        self.orders.append(order)
        if c.crm_company is not None:
            order.deal = self.crm.add_deal(
                dealname=f"{order.number} {c.short}",
                amount=f"{order.total:.2f}",
                currency="EUR",
                company_id=c.crm_company,
                contact_ids=[c.crm_contact] if c.crm_contact else [],
                dealstage="presentationscheduled",
            )
        self.erp.send_quotation(erp_id)
        self._note(f"quotation {order.number} to {c.short} ({scenario}, {order.total:.2f} EUR)")
        if scenario == "cancelled":
            self.scheduler.at(self.rng.uniform(0.2, 0.6), "cancel", lambda: self._cancel(order))
        elif scenario != "lost":
            self.scheduler.at(self.rng.uniform(0.1, 0.4), "confirm", lambda: self._confirm(order))

    def _confirm(self, order: Order) -> None:
        self.erp.confirm_order(order.erp_id, lead_days=2)
        if order.deal is not None:
            self.crm.close_deal_won(order.deal)
        order.invoice = self.erp.invoice(order.erp_id)  # prepayment invoice
        self._note(f"{order.number} confirmed and invoiced")
        self.scheduler.at(self.rng.uniform(0.1, 0.4), "pay", lambda: self._pay(order))

    def _pay(self, order: Order) -> None:
        assert order.invoice is not None  # noqa: S101
        self.erp.pay(order.invoice)
        self._note(f"{order.number} paid")
        if order.scenario == "late":
            # the warehouse is behind: the dispatch SLA (2 days) breaks
            self.scheduler.at(self.rng.uniform(3.5, 5.0), "ship late", lambda: self._ship(order))
            self.scheduler.at(2.5, "where is my order", lambda: self._ask_where(order))
        else:
            self.scheduler.at(self.rng.uniform(0.2, 1.2), "ship", lambda: self._ship(order))

    def _ship(self, order: Order) -> None:
        carrier = self.rng.choice(("DHL", "DPD", "UPS", "Schenker"))
        tracking = f"{carrier[:3].upper()}{self.rng.randint(10**9, 10**10 - 1)}"
        order.picking = self.erp.ship(order.erp_id, carrier=carrier, tracking_ref=tracking)
        self._note(f"{order.number} dispatched with {carrier}")
        self.scheduler.at(self.rng.uniform(0.8, 2.0), "deliver", lambda: self._deliver(order))

    def _deliver(self, order: Order) -> None:
        assert order.picking is not None  # noqa: S101
        self.erp.deliver(order.picking)
        self._note(f"{order.number} delivered")
        if order.scenario == "complaint":
            self.scheduler.at(
                self.rng.uniform(0.1, 0.5), "complaint", lambda: self._complain(order)
            )
        elif order.scenario == "return":
            self.scheduler.at(self.rng.uniform(0.5, 1.5), "return", lambda: self._return(order))
        elif order.scenario == "question":
            self.scheduler.at(self.rng.uniform(0.2, 1.0), "question", lambda: self._question(order))

    def _cancel(self, order: Order) -> None:
        self.erp.cancel_order(order.erp_id)
        if order.deal is not None:
            self.crm.set_property("deals", order.deal, "dealstage", "closedlost")
        self._note(f"{order.number} cancelled")

    # --- the helpdesk ------------------------------------------------------------------

    def _ticket(
        self, order: Order, subject: str, body: str, priority: str, tags: tuple[str, ...] = ()
    ) -> int | None:
        c = order.customer
        if self.helpdesk is None or c.helpdesk_user is None:
            return None
        ticket = self.helpdesk.open_ticket(
            c.helpdesk_user, subject, body, priority=priority, tags=tags
        )
        order.ticket = ticket
        self._note(f"ticket {ticket}: {subject}")
        return ticket

    def _answer_and_solve(self, ticket: int, reply: str, within: tuple[float, float]) -> float:
        """Schedules the agent's reply and the solve; returns the days until the solve."""
        assert self.helpdesk is not None  # noqa: S101
        helpdesk = self.helpdesk
        self.scheduler.at(
            self.rng.uniform(0.05, 0.3),
            "reply",
            lambda: helpdesk.comment(ticket, reply, author_id=self.agent),
        )
        solved_in = self.rng.uniform(*within)
        self.scheduler.at(solved_in, "solve", lambda: helpdesk.solve(ticket))
        return solved_in

    def _ask_where(self, order: Order) -> None:
        if order.picking is not None:
            return
        ticket = self._ticket(
            order,
            f"Where is my order {order.number}?",
            f"We paid order {order.number} days ago and have no delivery date yet.",
            priority="normal",
        )
        if ticket is not None:
            self._answer_and_solve(
                ticket, "Sorry for the delay, it leaves the warehouse shortly.", (2.5, 4.0)
            )

    def _complain(self, order: Order) -> None:
        ticket = self._ticket(
            order,
            f"Damaged goods in order {order.number}",
            f"Two items of order {order.number} arrived damaged. This is unacceptable.",
            priority="high",
            tags=("complaint",),
        )
        if ticket is None:
            return
        helpdesk = self.helpdesk
        assert helpdesk is not None  # noqa: S101
        if self.rng.random() < 0.7:  # the customer is angry: support escalates
            self.scheduler.at(
                self.rng.uniform(0.1, 0.4),
                "escalate",
                lambda: helpdesk.set_priority(ticket, "urgent"),
            )
        solved_in = self._answer_and_solve(
            ticket, "We are sorry. A replacement is on its way.", (1.0, 3.0)
        )
        requester = order.customer.helpdesk_user
        # the first complaint always, so the story shows in the first minutes; then some
        if not self.reopened or self.rng.random() < REOPENED_COMPLAINTS:
            self.reopened += 1  # the replacement is damaged as well
            self.scheduler.at(
                solved_in + self.rng.uniform(0.2, 0.6),
                "reopen",
                lambda: helpdesk.comment(
                    ticket, "The replacement arrived damaged too.", author_id=requester
                ),
            )
            self.scheduler.at(
                solved_in + self.rng.uniform(1.0, 2.0),
                "solve again",
                lambda: helpdesk.solve(ticket),
            )

    def _return(self, order: Order) -> None:
        ticket = self._ticket(
            order,
            f"Return request for order {order.number}",
            f"We would like to return part of order {order.number}: wrong colour.",
            priority="normal",
            tags=("return",),
        )
        if ticket is not None:
            self._answer_and_solve(ticket, "Return approved, the label is attached.", (0.5, 2.0))
        # the warehouse books the return in the ERP; the goods arrive two days later
        self.scheduler.at(0.3, "book return", lambda: self._book_return(order))

    def _book_return(self, order: Order) -> None:
        assert order.picking is not None  # noqa: S101 - only delivered orders are returned
        first_move = self.erp.record("stock.picking", order.picking)["move_ids"][0]
        product = self.erp.record("stock.move", first_move)["product_id"][0]
        sku = str(self.erp.record("product.product", product)["default_code"])
        order.returned = self.erp.return_goods(order.erp_id, [(sku, 1.0)], reason="wrong_item")
        self._note(f"{order.number}: return of one {sku} booked")
        self.scheduler.at(2.0, "receive return", lambda: self._receive_return(order))

    def _receive_return(self, order: Order) -> None:
        assert order.returned is not None  # noqa: S101
        self.erp.receive_return(order.returned)
        self._note(f"{order.number}: returned goods received")

    def _question(self, order: Order) -> None:
        ticket = self._ticket(
            order,
            f"Assembly instructions for order {order.number}",
            f"Could you send the assembly instructions for the items of {order.number}?",
            priority="low",
        )
        if ticket is not None:
            self._answer_and_solve(ticket, "Here is the PDF.", (0.2, 1.0))

    # --- marketing and sales -----------------------------------------------------------

    def _new_lead(self) -> None:
        if not self._names:
            return
        prospect = self._new_customer()
        self.prospects.append(prospect)
        self._enter_crm(prospect, lifecyclestage="lead")
        self._note(f"new lead {prospect.email}")
        if self.rng.random() < 0.6:
            self.scheduler.at(
                self.rng.uniform(0.5, 2.0), "qualify", lambda: self._qualify(prospect)
            )

    def _qualify(self, p: Customer) -> None:
        assert p.crm_contact is not None  # noqa: S101
        self.crm.set_property("contacts", p.crm_contact, "lifecyclestage", "opportunity")
        self.scheduler.at(self.rng.uniform(0.5, 1.5), "convert", lambda: self._convert(p))

    def _convert(self, p: Customer) -> None:
        """The prospect signs: a customer in the ERP and the helpdesk, and it orders."""
        assert p.crm_contact is not None  # noqa: S101
        assert p.crm_company is not None  # noqa: S101
        self._enter_erp(p)
        self.crm.set_property("companies", p.crm_company, "erp_customer_number", p.number)
        self.crm.set_property("contacts", p.crm_contact, "lifecyclestage", "customer")
        self._enter_helpdesk(p)
        self.customers.append(p)
        self._note(f"{p.short} converted: customer {p.number}")
        self.scheduler.at(self.rng.uniform(0.1, 0.5), "first order", self._quote_later(p, "normal"))

    # --- running -------------------------------------------------------------------------

    def run_for(self, days: float) -> int:
        """Run the calendar for ``days`` simulated days at once (tests, no waiting)."""
        return self.scheduler.advance(self.scheduler.now + days)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run in real time (``day_seconds`` per day) until ``stop`` is set or cancelled."""
        start = time.monotonic() - self.scheduler.now * self.day_seconds
        while stop is None or not stop.is_set():
            self.scheduler.advance((time.monotonic() - start) / self.day_seconds)
            due = self.scheduler.next_due()
            wait = 0.5 if due is None else (due * self.day_seconds) - (time.monotonic() - start)
            await asyncio.sleep(min(max(wait, 0.01), 0.5))


__all__ = ["DAY_SECONDS", "Company", "Customer", "Order", "Scheduler"]
