"""Showing people with as little of them as the guard needs; the roles people sign in with."""

from enum import StrEnum


def mask_name(name: str) -> str:
    """Keep the first character (the surname in a Chinese name) and star the rest.

    Spaces are kept so a Latin name keeps its shape: "张三丰" -> "张**", "Li Wei" -> "L* ***".
    """
    name = " ".join((name or "").split())
    if not name:
        return ""
    return name[0] + "".join(" " if ch == " " else "*" for ch in name[1:])


class Role(StrEnum):
    """Who a signed-in user is; the scope of each role is in ``services/scope.py``."""

    STREET = "street"  # the street office: every community of its street
    OFFICE = "office"  # a community office
    GUARD = "guard"
    WORKER = "worker"
    RESIDENT = "resident"
