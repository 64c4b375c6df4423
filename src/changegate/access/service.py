"""Access reviews (policy §7): the rules, in one place. Services flush; the entry point commits.

A campaign is created (draft), opened (its population snapshotted: changegate's users, roles and
tokens plus other systems from a CSV, with row count and SHA-256), decided item by item by
reviewers the policy names (never about their own access), its revocations carried out, and
closed by a sign-off role the policy names. Every step is an audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.access.models import AccessItem, AccessReview
from changegate.access.population import CHANGEGATE, Entitlement, digest
from changegate.access.sources import ROLE, TOKEN, changegate_population, last_activity
from changegate.audit import events
from changegate.audit.service import record
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput, NotFound, PolicyDenied, SegregationOfDuties
from changegate.users.models import User

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

DECISIONS = ("keep", "revoke", "modify")
#: decisions that change someone's access, so must be carried out before the campaign closes
CHANGING = ("revoke", "modify")


def _person(session: Session, name: str) -> User:
    from changegate.users.service import get_user

    return get_user(session, name, field="by")


def _require_role(user: User, roles: list[str], *, what: str, setting: str) -> None:
    if not roles:
        raise PolicyDenied(
            f"the policy names no {setting}: nobody may {what}; add roles to it", field="by"
        )
    if not set(user.roles) & set(roles):
        raise PolicyDenied(
            f"{user.name} may not {what}: the policy's {setting} are {', '.join(roles)}; "
            f"{user.name} holds {', '.join(user.roles) or 'no roles'}",
            field="by",
        )


def _is_self(user: User, subject: str) -> bool:
    """Whether ``subject`` names ``user`` (their name or GitHub login, in any letter case)."""
    names = {user.name.casefold(), (user.github_login or user.name).casefold()}
    return subject.strip().casefold() in names


def open_review(
    session: Session,
    policy: Policy,
    review: AccessReview,
    *,
    actor: str,
    other_systems: list[Entitlement] | None = None,
) -> AccessReview:
    """Snapshot the population (changegate's, plus ``other_systems`` from a CSV) as items."""
    from changegate.policy.service import require

    require(policy, _person(session, actor), "access.manage", doing="open an access review")
    if review.state != "draft":
        raise Conflict(f"access review {review.id} is {review.state}, not a draft", field="review")
    rows = changegate_population(session, policy) + [
        e for e in other_systems or [] if e.system.lower() != CHANGEGATE
    ]
    activity = last_activity(session)
    for row in sorted(rows):
        at, kind = activity.get(row.subject, (None, None))
        if row.system != CHANGEGATE:  # other systems' activity is theirs to report
            at, kind = None, None
        item = AccessItem(
            review_id=review.id,
            subject=row.subject,
            system=row.system,
            entitlement=row.entitlement,
            privileged=row.privileged,
            last_activity_at=at,
            last_activity=kind,
            decision="undecided",
            justification="",
            reference="",
        )
        session.add(item)
        record(session, events.AccessItemAdded, actor=actor, after=item)
    before = review.audit_state()
    review.population_count, review.population_sha256 = digest(r.key for r in rows)
    review.state = "open"
    review.opened_at = utcnow()
    record(session, events.AccessReviewOpened, actor=actor, before=before, after=review)
    return review


def start_review(
    session: Session,
    policy: Policy,
    *,
    name: str,
    actor: str,
    scope: str = "",
    period: str = "",
    due: str | None = None,
    csv: bytes | None = None,
    draft: bool = False,
) -> AccessReview:
    """`access open` from its raw options: a campaign owned by ``actor`` (who holds
    ``access.manage``), due by default ``access_review_interval_days`` after today, opened unless
    ``draft``. The CSV and the due date are checked before anything is written."""
    from changegate.access.population import parse_csv
    from changegate.access.schedule import parse_day
    from changegate.policy.service import require

    rows = parse_csv(csv) if csv is not None else []
    due_on = parse_day(due, "due")
    owner = _person(session, actor)
    require(policy, owner, "access.manage", doing="open an access review")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("--name: give the campaign a name (1-200 characters)", field="name")
    for field, value, limit in (("scope", scope, 200), ("period", period, 100)):
        if len(value) > limit:
            raise InvalidInput(f"--{field}: at most {limit} characters", field=field)
    now = utcnow()
    due_on = due_on or (now.date() + dt.timedelta(days=policy.access_review_interval_days))
    if due_on < now.date():
        raise InvalidInput(f"--due {due_on}: a campaign is due today or later", field="due")
    review = AccessReview(
        name=name, scope=scope, period=period, due_on=due_on, owner=owner.name, state="draft",
        created_at=now, population_count=0, population_sha256="",
    )  # fmt: skip
    session.add(review)
    record(session, events.AccessReviewCreated, actor=owner.name, after=review)
    if not draft:
        open_review(session, policy, review, actor=actor, other_systems=rows)
    return review


def get_review(session: Session, review_id: int, *, lock: bool = False) -> AccessReview:
    stmt = select(AccessReview).where(AccessReview.id == review_id)
    review = session.scalar(stmt.with_for_update() if lock else stmt)
    if review is None:
        raise NotFound(
            f"no access review {review_id}; `changegate access list` shows them", field="review"
        )
    return review


def locked_item(session: Session, review_id: int, item_id: int) -> tuple[AccessReview, AccessItem]:
    """An item to decide or carry out, with its review, both locked for the transaction."""
    review = get_review(session, review_id, lock=True)
    return review, get_item(session, review, item_id)


def get_item(session: Session, review: AccessReview, item_id: int) -> AccessItem:
    item = session.scalar(
        select(AccessItem)
        .where(AccessItem.id == item_id, AccessItem.review_id == review.id)
        .with_for_update()
    )
    if item is None:
        raise NotFound(
            f"access review {review.id} has no item {item_id}; "
            f"`changegate access show {review.id}` lists them",
            field="item",
        )
    return item


def items(session: Session, review: AccessReview) -> list[AccessItem]:
    stmt = select(AccessItem).where(AccessItem.review_id == review.id).order_by(AccessItem.id)
    return list(session.scalars(stmt))


def list_reviews(session: Session) -> list[AccessReview]:
    return list(session.scalars(select(AccessReview).order_by(AccessReview.id)))


def decide(
    session: Session,
    policy: Policy,
    review: AccessReview,
    item: AccessItem,
    *,
    decision: str,
    actor: str,
    justification: str = "",
) -> AccessItem:
    """Record a reviewer's decision. Refused: outside an open campaign, to anyone without a
    reviewer role, to the item's subject (nobody reviews their own access), to anyone but the
    assigned reviewer, without a justification to keep a privileged entitlement, and once a
    revocation has been carried out."""
    reviewer = _person(session, actor)
    if review.state != "open":
        raise Conflict(f"access review {review.id} is {review.state}: decide while it is open")
    roles = policy.access_review.reviewer_roles
    _require_role(reviewer, roles, what="decide access review items", setting="reviewer roles")
    if _is_self(reviewer, item.subject):
        raise SegregationOfDuties(
            f"nobody reviews their own access: item {item.id} is {item.subject}'s "
            f"{item.entitlement} in {item.system}; another reviewer must decide it",
            field="by",
        )
    if item.reviewer is not None and item.reviewer != reviewer.name:
        raise PolicyDenied(f"item {item.id} is assigned to {item.reviewer}", field="by")
    if decision not in DECISIONS:
        raise InvalidInput(f"--decision {decision!r}: use keep, revoke or modify", field="decision")
    justification = justification.strip()
    if decision == "keep" and item.privileged and not justification:
        raise InvalidInput(
            f"item {item.id} is privileged ({item.entitlement}): keeping it needs "
            "--justification saying why the access is still needed",
            field="justification",
        )
    if item.applied_at is not None:
        raise Conflict(f"item {item.id}'s {item.decision} was already carried out", field="item")
    before = item.audit_state()
    item.decision, item.justification = decision, justification
    item.decided_by, item.decided_at = reviewer.name, utcnow()
    record(session, events.AccessItemDecided, actor=reviewer.name, before=before, after=item)
    return item


def apply_decision(
    session: Session,
    policy: Policy,
    review: AccessReview,
    item: AccessItem,
    *,
    actor: str,
    reference: str = "",
    verified_on: dt.date | None = None,
) -> AccessItem:
    """Carry out a revoke or modify decision. A changegate role or token is revoked through the
    users and auth services (audited there, with their own permission checks); anything else
    is recorded with the other system's ``reference`` and the day it was verified."""
    applier = _person(session, actor)
    if review.state != "open":
        raise Conflict(f"access review {review.id} is {review.state}", field="review")
    if item.decision not in CHANGING:
        raise Conflict(
            f"item {item.id} is {item.decision}: only revoke and modify are carried out",
            field="item",
        )
    if item.applied_at is not None:
        raise Conflict(f"item {item.id} was already carried out", field="item")
    reference = reference.strip()
    if item.system == CHANGEGATE and item.decision == "revoke":
        reference = reference or _revoke_in_changegate(session, policy, item, applier)
    else:
        from changegate.policy.service import require

        require(policy, applier, "access.manage", doing="record access changes")
        if not reference or len(reference) > 200:
            raise InvalidInput(
                "--reference: name the ticket or change that carried it out (1-200 characters)",
                field="reference",
            )
    before = item.audit_state()
    item.applied_by, item.applied_at = applier.name, utcnow()
    item.reference = reference[:200]
    item.verified_on = verified_on or item.applied_at.date()
    record(session, events.AccessRevocationApplied, actor=applier.name, before=before, after=item)
    return item


def _revoke_in_changegate(session: Session, policy: Policy, item: AccessItem, applier: User) -> str:
    from changegate.users.service import set_roles

    if item.entitlement.startswith(TOKEN):
        return _revoke_token(session, policy, item, applier)
    role = item.entitlement.removeprefix(ROLE)
    user = session.scalar(select(User).where(User.name == item.subject))
    if user is None or role not in user.roles:
        return f"{item.subject} no longer holds {role}"
    remaining = [r for r in user.roles if r != role]
    if not remaining:
        raise Conflict(
            f"{role} is {user.name}'s only role and changegate keeps every user with one: "
            "decide modify instead and record what was done with --reference",
            field="item",
        )
    set_roles(session, policy, user, roles=remaining, actor=applier.name)
    return f"role {role} removed"


def _revoke_token(session: Session, policy: Policy, item: AccessItem, applier: User) -> str:
    from changegate.auth.models import ApiToken
    from changegate.auth.service import revoke_token
    from changegate.policy.service import require

    token = session.get(ApiToken, int(item.entitlement.removeprefix(TOKEN)))
    if token is None or token.revoked_at is not None:
        return f"token {item.entitlement.removeprefix(TOKEN)} already revoked"
    if token.user_name != applier.name:
        require(policy, applier, "token.manage", doing="revoke other people's API tokens")
    revoke_token(session, token, actor=applier.name)
    return f"token {token.id} revoked"


def close_review(
    session: Session, policy: Policy, review: AccessReview, *, actor: str
) -> AccessReview:
    """Sign the campaign off. Refused to anyone without a sign-off role, and while an item is
    undecided or a revoke or modify decision has not been carried out."""
    signer = _person(session, actor)
    roles = policy.access_review.signoff_roles
    _require_role(signer, roles, what="sign off access reviews", setting="sign-off roles")
    if review.state != "open":
        raise Conflict(f"access review {review.id} is {review.state}, not open", field="review")
    rows = items(session, review)
    undecided = [i.id for i in rows if i.decision == "undecided"]
    if undecided:
        raise Conflict(
            f"access review {review.id} has {len(undecided)} undecided item(s) "
            f"({', '.join(map(str, undecided[:10]))}): decide them before closing",
            field="review",
        )
    pending = [i.id for i in rows if i.decision in CHANGING and i.applied_at is None]
    if pending:
        raise Conflict(
            f"access review {review.id} has {len(pending)} revocation(s) not carried out "
            f"({', '.join(map(str, pending[:10]))}): `changegate access apply` them first",
            field="review",
        )
    before = review.audit_state()
    review.state, review.closed_at, review.closed_by = "closed", utcnow(), signer.name
    record(session, events.AccessReviewClosed, actor=signer.name, before=before, after=review)
    return review


def review_view(
    session: Session, review: AccessReview, *, with_items: bool = True
) -> dict[str, Any]:
    """A campaign as the API returns and `--json` prints it: its fields, counts by decision,
    and its items."""
    rows = items(session, review)
    counts = {d: 0 for d in ("undecided", *DECISIONS)}
    for item in rows:
        counts[item.decision] = counts.get(item.decision, 0) + 1
    pending = sum(1 for i in rows if i.decision in CHANGING and i.applied_at is None)
    out = review.audit_state() | {"counts": counts, "not_applied": pending}
    if with_items:
        out["items"] = [i.audit_state() for i in rows]
    return out
