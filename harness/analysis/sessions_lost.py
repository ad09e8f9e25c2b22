"""A Redis failover's toll: sessions users were given and later lost, and how long logins took to recover.

A session is *lost* when its login flow succeeded (the user was handed it) and a later `session` flow
with it answered session_not_found: the write was acknowledged, then a failover threw it away. Flows
name their session by a digest in the `session` column (harness.load.users.Session.reference).

*Time to recover* runs from the failover to the answer of the last failed login (a failed /login request,
or a failed login flow) after it; a run whose logins still fail in its last SETTLE_S seconds did not
recover. Counting /login requests as well as flows keeps a client that retries from hiding the outage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.analysis import columns as col
from harness.analysis.run_folder import FaultEvent
from harness.records import APPLY, KIND_FLOW, KIND_REQUEST, SESSION, ErrorKind

LOGIN_REQUEST = "/login"
SESSION_FLOW = "session"
LOST_KIND = ErrorKind.SESSION_NOT_FOUND.value
FAILOVER = "failover"
SETTLE_S = 3.0
EXAMPLES = 5


@dataclass(frozen=True)
class FailoverOutcome:
    """Per variant: sessions handed out, checked again later, and lost; recovery after the first failover."""

    sessions_created: int
    sessions_checked: int
    sessions_lost: int
    lost_examples: list[str] = field(default_factory=list)
    failover_at_s: float | None = None
    recovery_s: float | None = None     # None: no failover, or logins had not recovered by the end
    max_lost: int | None = None         # the target's max_lost_sessions, when it sets one

    @property
    def within_target(self) -> bool | None:
        return None if self.max_lost is None else self.sessions_lost <= self.max_lost

    def to_dict(self) -> dict[str, Any]:
        return {"sessions_created": self.sessions_created, "sessions_checked": self.sessions_checked,
                "sessions_lost": self.sessions_lost, "lost_examples": self.lost_examples,
                "failover_at_s": self.failover_at_s, "recovered": self.recovery_s is not None,
                "recovery_s": self.recovery_s, "max_lost_sessions": self.max_lost,
                "within_target": self.within_target}


def lost_sessions(rows: pd.DataFrame) -> tuple[int, int, list[str]]:
    """(sessions checked after their login, sessions lost, the lost ones' digests, first few)."""
    if SESSION not in rows.columns:
        return 0, 0, []
    flows = rows[rows[col.KIND] == KIND_FLOW]
    sessions = flows[SESSION].fillna("").astype(str)
    logins = flows[(flows[col.NAME] == "login") & flows[col.SUCCESS] & (sessions != "")]
    created = logins[col.T].astype("float64").groupby(sessions[logins.index].to_numpy()).min()
    used = flows[(flows[col.NAME] == SESSION_FLOW) & (sessions != "")]
    used_sessions = sessions[used.index]
    created_t = used_sessions.map(created).astype("float64")
    after = (used[col.T].astype("float64") > created_t).to_numpy()
    checked = used_sessions[after]
    lost = checked[(used[col.ERROR_KIND].astype(str) == LOST_KIND).to_numpy()[after]]
    names = sorted(lost.unique())
    return int(checked.nunique()), len(names), names[:EXAMPLES]


def recovery_after(rows: pd.DataFrame, failover_t: float, metric: str, end_s: float) -> float | None:
    """Seconds from the failover to the answer of the last failed login after it; None if still failing."""
    after = rows[(rows[col.T] >= failover_t) & ~rows[col.SUCCESS]]
    is_login = (((after[col.KIND] == KIND_REQUEST) & (after[col.NAME] == LOGIN_REQUEST))
                | ((after[col.KIND] == KIND_FLOW) & (after[col.NAME] == metric)))
    failed = after[is_login]
    if failed.empty:
        return 0.0
    last_answer = float((failed[col.T] + failed[col.LATENCY_MS].fillna(0) / 1000).max())
    if last_answer > end_s - SETTLE_S:
        return None
    return max(0.0, last_answer - failover_t)


def failover_outcome(variant: str, rows: pd.DataFrame, events: list[FaultEvent], metric: str, end_s: float,
                     max_lost: int | None) -> FailoverOutcome | None:
    """The outcome for one variant, or None when it had neither a failover nor session flows."""
    failovers = sorted(e.t for e in events if e.variant == variant and e.type == FAILOVER and e.action == APPLY)
    named = rows[SESSION].fillna("").astype(str) != "" if SESSION in rows.columns else None
    # Every login flow names its session; only `session` flows that reuse one make losses observable.
    reused = named is not None and bool((named & (rows[col.KIND] == KIND_FLOW)
                                         & (rows[col.NAME] == SESSION_FLOW)).any())
    if not failovers and not reused:
        return None
    created = 0
    if named is not None:
        logins = rows[named & (rows[col.KIND] == KIND_FLOW) & (rows[col.NAME] == "login") & rows[col.SUCCESS]]
        created = int(logins[SESSION].astype(str).nunique())
    checked, lost, examples = lost_sessions(rows)
    at = failovers[0] if failovers else None
    recovery = recovery_after(rows, at, metric, end_s) if at is not None else None
    return FailoverOutcome(created, checked, lost, examples, at, recovery, max_lost)
