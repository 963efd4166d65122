"""The identity map as a pure state machine: source identities to golden customer ids.

A source identity (``<system>:<source id>``) gets the golden id of any known identity it
shares evidence with or links to; with none, a new golden id derived from it (uuid5, so the
same first identity always gives the same id). When one record's evidence reaches several
golden ids they are merged: the lexicographically smallest survives and the others resolve
to it from then on (union-find). Because the survivor of a set does not depend on the order
in which unions happen, every instance that applies the same records, in any order, ends
with the same answers.

Every change is returned as :class:`IdentityRecord` s for the compacted ``hub.identity``
topic, and :meth:`IdentityResolver.apply` rebuilds the state from them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

#: Namespace of golden customer ids (uuid5 of the first source identity), fixed forever.
GOLDEN_NAMESPACE = uuid.UUID("0b7c5a52-3f7e-4d7a-8f57-1d2f4c9e6a31")
MERGE_PREFIX = "@merge:"


_GOLDEN_NAMESPACE_BYTES = GOLDEN_NAMESPACE.bytes
#: RFC 4122 version 5 and variant bits as ``uuid.uuid5`` sets them, within the 12 bytes
#: (24 hex digits) of the uuid a golden id keeps
_GOLDEN_CLEAR = ~((0xF0 << 40) | (0xC0 << 24))
_GOLDEN_SET = (0x50 << 40) | (0x80 << 24)


def golden_id(source_identity: str) -> str:
    """``"cust-" + uuid.uuid5(GOLDEN_NAMESPACE, source_identity).hex[:24]``, fixed forever.

    Computed from the SHA-1 digest without building the ``UUID`` object, which cost twice
    the hash: every new source identity (most customer events of a new system) needs one.
    """
    digest = hashlib.sha1(
        _GOLDEN_NAMESPACE_BYTES + source_identity.encode(), usedforsecurity=False
    ).digest()
    return "cust-%024x" % (int.from_bytes(digest[:12]) & _GOLDEN_CLEAR | _GOLDEN_SET)


def source_identity(system: str, source_id: str) -> str:
    return f"{system}:{source_id}"


@dataclass(frozen=True)
class Merge:
    survivor: str
    merged: str
    reason: str


@dataclass(frozen=True)
class IdentityRecord:
    """One record of ``hub.identity``: a source identity's golden id, or a merge."""

    key: str
    value: dict[str, Any]

    def encode(self) -> tuple[bytes, bytes]:
        return self.key.encode(), orjson.dumps(self.value)

    @classmethod
    def decode(cls, key: bytes, value: bytes) -> IdentityRecord:
        decoded = orjson.loads(value)
        if not isinstance(decoded, dict):
            raise TypeError(f"identity record {key!r} is not a JSON object")
        return cls(key.decode(), decoded)


@dataclass(frozen=True)
class Resolution:
    customer_id: str
    records: list[IdentityRecord]
    merges: list[Merge]


@dataclass
class IdentityResolver:
    owner: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)

    # -- union-find ------------------------------------------------------------------
    def find(self, golden: str) -> str:
        root = golden
        while root in self.parent:
            root = self.parent[root]
        while golden != root:  # path compression
            self.parent[golden], golden = root, self.parent[golden]
        return root

    def _union(self, a: str, b: str, reason: str) -> Merge | None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        survivor, merged = min(ra, rb), max(ra, rb)
        self.parent[merged] = survivor
        return Merge(survivor, merged, reason)

    # -- questions -------------------------------------------------------------------
    def resolve(self, system: str, source_id: str) -> str | None:
        """The golden id of a source identity, None if unknown. A system is a connector
        instance name, which never holds a colon: without this check ``("crm:a", "b")``
        would find the identity ``("crm", "a:b")``, both keyed ``crm:a:b``."""
        if ":" in system:
            return None
        golden = self.owner.get(source_identity(system, source_id))
        return None if golden is None else self.find(golden)

    def canonical(self, golden: str) -> str:
        """The surviving id of a golden id (itself unless it was merged)."""
        return self.find(golden)

    # -- changes ---------------------------------------------------------------------
    def ensure(self, system: str, source_id: str) -> Resolution:
        """The golden id of a source identity, assigning one if it is new.

        Most events (orders, tickets) name a customer the resolver already owns under a
        surviving golden id: then nothing changes and no record is written, so that answer
        skips :meth:`observe`'s candidate collection."""
        golden = self.surviving(system, source_id)
        if golden is not None:
            return Resolution(golden, [], [])
        return self.observe(system, source_id, (), ())

    def surviving(self, system: str, source_id: str) -> str | None:
        """The golden id that owns a source identity, if it owns it and was never merged
        away: then :meth:`ensure` changes nothing and answers exactly this."""
        golden = self.owner.get(source_identity(system, source_id))
        return golden if golden is not None and golden not in self.parent else None

    def observe(  # noqa: PLR0912 - one pass over candidates, evidence and links
        self, system: str, source_id: str, evidence: tuple[str, ...], links: tuple[str, ...]
    ) -> Resolution:
        """A record of ``system``/``source_id`` with its evidence keys and linked identities."""
        me = source_identity(system, source_id)
        found: dict[str, str] = {}  # candidate golden id -> why
        if me in self.owner:
            found.setdefault(self.find(self.owner[me]), "same source identity")
        for key in evidence:
            if key in self.evidence:
                found.setdefault(self.find(self.evidence[key]), f"same {key.split(':', 1)[0]}")
        for link in links:
            if link in self.owner:
                found.setdefault(self.find(self.owner[link]), "cross reference")
        merges: list[Merge] = []
        if found:
            survivor = min(found)
            for other in sorted(found):
                merge = self._union(survivor, other, found[other])
                if merge is not None:
                    merges.append(merge)
            survivor = self.find(survivor)
        else:
            survivor = golden_id(me)
        records = [
            IdentityRecord(MERGE_PREFIX + m.merged, {"survivor": m.survivor, "reason": m.reason})
            for m in merges
        ]
        new_evidence = [k for k in evidence if self.evidence.get(k) != survivor]
        if self.owner.get(me) != survivor or new_evidence:
            self.owner[me] = survivor
            records.append(
                IdentityRecord(me, {"customer_id": survivor, "evidence": list(evidence)})
            )
        for key in evidence:
            self.evidence[key] = survivor
        for link in links:
            if link not in self.owner:
                self.owner[link] = survivor
                records.append(IdentityRecord(link, {"customer_id": survivor, "evidence": []}))
        return Resolution(survivor, records, merges)

    def apply(self, record: IdentityRecord) -> list[Merge]:
        """Take in a record from ``hub.identity`` (a rebuild, or another instance's update).

        A record that disagrees with what this instance knows joins the two golden ids, with
        the same survivor rule, so instances converge whatever order records arrive in.
        """
        merges: list[Merge] = []

        def join(a: str, b: str, reason: str) -> None:
            merge = self._union(a, b, reason)
            if merge is not None:
                merges.append(merge)

        if record.key.startswith(MERGE_PREFIX):
            survivor = record.value.get("survivor")
            if isinstance(survivor, str):
                join(survivor, record.key[len(MERGE_PREFIX) :], str(record.value.get("reason")))
            return merges
        golden = record.value.get("customer_id")
        if not isinstance(golden, str):
            return merges
        known = self.owner.get(record.key)
        if known is not None:
            join(known, golden, "same source identity")
        self.owner[record.key] = golden if known is None else self.find(golden)
        for key in record.value.get("evidence") or ():
            if not isinstance(key, str):
                continue
            if key in self.evidence:
                join(self.evidence[key], golden, f"same {key.split(':', 1)[0]}")
            self.evidence[key] = self.find(golden)
        return merges

    def __len__(self) -> int:
        return len(self.owner)
