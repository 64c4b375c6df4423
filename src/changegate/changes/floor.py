"""The class floor: the lowest class a change may have, from what its changed files say.

A person may raise a change's class above the floor the policy's path rules give it, never
lower it.
"""

from __future__ import annotations

from collections.abc import Sequence

from changegate.policy.errors import PathRuleError
from changegate.policy.pathrules import DEFAULT_CLASS_ORDER
from changegate.scm.errors import ClassTooLow


def effective_class(
    requested: str | None,
    minimum: str,
    class_order: Sequence[str] = DEFAULT_CLASS_ORDER,
) -> str:
    """The class a change gets: ``requested`` if given and not below ``minimum``.

    A person may raise the class the path rules give but never lower it; lowering raises
    ``ClassTooLow`` naming both classes.
    """
    if minimum not in class_order:
        raise PathRuleError(
            f"minimum class {minimum!r} is unknown; use one of {', '.join(class_order)}",
            field="class",
        )
    if requested is None:
        return minimum
    if requested not in class_order:
        raise PathRuleError(
            f"class: unknown class {requested!r}; use one of {', '.join(class_order)}",
            field="class",
        )
    if class_order.index(requested) < class_order.index(minimum):
        raise ClassTooLow(
            f"class: {requested!r} is below {minimum!r}, the minimum the changed files "
            f"require; use {minimum!r} or higher",
            field="class",
        )
    return requested
