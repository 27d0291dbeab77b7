"""Showing people with as little of them as the guard needs."""


def mask_name(name: str) -> str:
    """Keep the first character (the surname in a Chinese name) and star the rest.

    Spaces are kept so a Latin name keeps its shape: "张三丰" -> "张**", "Li Wei" -> "L* ***".
    """
    name = " ".join((name or "").split())
    if not name:
        return ""
    return name[0] + "".join(" " if ch == " " else "*" for ch in name[1:])
