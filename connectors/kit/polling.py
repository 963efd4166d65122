"""A polling source: the author yields the records changed since a cursor; the kit does the rest.

The kit publishes what ``read`` yields in pages of ``settings.page_size`` records, awaits the
broker's acknowledgement (acks=all) of the whole page, and only then stores the cursor of the
page's last record on ``hub.checkpoints``. After a crash the source resumes from the last
stored cursor, so a record may be delivered twice (same ``ce_id``) but never skipped.

Minimal example::

    class Source(PollingSource[Settings]):
        entities = ("contact",)

        async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record]:
            async for row in self.api.changed_since(cursor):
                yield Record(id=row["id"], revision=row["updated_at"],
                             time=parse(row["updated_at"]), data=row,
                             cursor=row["updated_at"] + "|" + row["id"])

``read`` yields records in cursor order. It raises :class:`~connectors.kit.errors.RetriableError`
for transient failures (the kit backs off and calls ``read`` again from the stored cursor),
:class:`~connectors.kit.errors.FatalError` when the instance cannot go on, and yields
:class:`~connectors.kit.source.BadRecord` for a record it cannot make sense of.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from connectors.kit.source import BadRecord, Record, S, Source


class PollingSource(Source[S]):
    """Implement :meth:`read`; optionally override :meth:`streams`."""

    def streams(self) -> tuple[str, ...]:
        """The streams to poll, one cursor each; by default one stream per entity."""
        return self.instance_entities

    def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record | BadRecord]:
        """Yield the records of ``stream`` after ``cursor`` (``None``: from the beginning)."""
        raise NotImplementedError(f"{type(self).__name__} must implement read(stream, cursor)")


__all__ = ["PollingSource"]
