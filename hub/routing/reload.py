"""Routing rules that follow ``hub.yaml`` without a restart (and the translator's identity
rules, which it reads from the same reloaded configuration).

The current rules live in one :class:`CompiledRules` object that is replaced as a whole
(an atomic swap: a batch in flight keeps the object it started with). A changed file
(polled by modification time) or SIGHUP triggers a reload; the new file is validated
completely first, and an invalid one is rejected with its reasons while the old rules stay.
A reload may change rules and policies but not the set of departments: their topics must
exist first (``hub topics create``), so adding one needs a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.config import ConfigError, HubConfig, load_config
from hub.routing.config import Rule
from hub.routing.policy import FieldPlan, LabelSource, PolicyTable, registry_labels
from hub.routing.route import departments_of

log = logging.getLogger(__name__)
_MAX_CACHED_TYPES = 1024


@dataclass
class CompiledRules:
    """One configuration's routing, ready for the hot path."""

    config: HubConfig
    labels: LabelSource = registry_labels
    policies: PolicyTable = field(init=False)

    def __post_init__(self) -> None:
        self.policies = PolicyTable(self.config, self.labels)
        self._rules = self.config.routing.effective_rules()
        self._departments = frozenset(self.config.departments)
        #: event type -> the rules whose type globs match it (conditions still checked per
        #: event): globbing every rule for every event was a measurable share of routing
        self._candidates: dict[str, tuple[Rule, ...]] = {}
        #: event type -> its departments, for a type whose candidate rules have neither
        #: conditions nor ``$field`` targets: they do not depend on the event's data, so
        #: most events (every type but a few) skip checking the rules altogether
        self._fixed: dict[str, tuple[str, ...]] = {}

    def departments(self, event_type: str, data: Any) -> list[str]:
        fixed = self._fixed.get(event_type)
        if fixed is not None:
            return list(fixed)
        rules = self._candidates.get(event_type)
        if rules is None:
            rules = tuple(r for r in self._rules if r.matches_type(event_type))
            if len(self._candidates) < _MAX_CACHED_TYPES:
                self._candidates[event_type] = rules
                if not any(r.when or any(t.startswith("$") for t in r.to) for r in rules):
                    self._fixed[event_type] = tuple(departments_of(rules, self._departments, {}))
        return departments_of(rules, self._departments, data)

    def plan(self, event_type: str, version: int | None, department: str) -> FieldPlan:
        return self.policies.plan(event_type, version, department)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


class RulesHolder:
    """The current rules of a process, and the reload logic."""

    def __init__(
        self,
        config: HubConfig,
        path: Path | None = None,
        *,
        interval: float = 2.0,
        labels: LabelSource = registry_labels,
    ) -> None:
        self.labels = labels
        self.current = CompiledRules(config, labels)
        self.path = path
        self.interval = interval
        self.last_error: str | None = None
        self.reloads = 0
        self._seen = _mtime(path) if path is not None else None

    def reload(self) -> bool:
        """Validate the file and swap it in; ``False`` (old rules kept) when it is invalid."""
        if self.path is None:
            return False
        self._seen = _mtime(self.path)
        try:
            config = load_config(self.path)
        except (ConfigError, OSError) as exc:
            return self._reject(str(exc))
        added = sorted(set(config.departments) - set(self.current.config.departments))
        if added:
            return self._reject(f"new departments {added} need their topics and a restart")
        self.current = CompiledRules(config, self.labels)
        self.last_error = None
        self.reloads += 1
        log.info("routing and identity rules reloaded from %s", self.path)
        return True

    def _reject(self, reason: str) -> bool:
        self.last_error = reason
        log.error("hub.yaml reload rejected; the previous rules stay: %s", reason)
        return False

    def check(self) -> bool:
        """Reload if the file changed since it was last read."""
        if self.path is not None and _mtime(self.path) != self._seen:
            return self.reload()
        return False

    async def watch(self) -> None:
        """Poll the file and listen for SIGHUP until cancelled."""
        loop = asyncio.get_running_loop()
        hup = asyncio.Event()
        installed = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, hup.set)
            installed = True
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hup.wait(), self.interval)
                if hup.is_set():
                    hup.clear()
                    log.info("SIGHUP: reloading %s", self.path)
                    self.reload()
                else:
                    self.check()
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGHUP)
