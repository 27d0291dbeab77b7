"""Plain builder functions for test data, written straight to the database."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.extensions import db
from kiosk.models import (
    Building,
    Community,
    Compound,
    Device,
    Gate,
    Household,
    Pass,
    Resident,
    Street,
    User,
    Visit,
    utcnow,
)
from kiosk.services import passes, security

PASSWORD = "correct-horse-battery"
_HASH_CACHE: dict[str, str] = {}


def user(username: str, role: str, **kw) -> User:
    if PASSWORD not in _HASH_CACHE:  # scrypt is slow on purpose; hash once per run
        _HASH_CACHE[PASSWORD] = security.hash_password(PASSWORD)
    u = User(username=username, role=role, password_hash=_HASH_CACHE[PASSWORD], **kw)
    db.session.add(u)
    db.session.flush()
    return u


def device(gate: Gate, name: str = "tablet") -> tuple[Device, str]:
    token = security.new_token()
    d = Device(gate_id=gate.id, name=name, token_hash=security.token_hash(token))
    db.session.add(d)
    db.session.flush()
    return d, token


def resident(household: Household, name: str = "张三丰") -> Resident:
    r = Resident(household_id=household.id, name=name)
    db.session.add(r)
    db.session.flush()
    return r


def pass_for(res: Resident, kind: str = "resident", **kw) -> Pass:
    p = Pass(resident_id=res.id, kind=kind, valid_from=kw.pop("valid_from", utcnow()), **kw)
    db.session.add(p)
    db.session.flush()
    return p


def code(p: Pass, unix_seconds: float | None = None) -> str:
    return passes.code_for(p, unix_seconds)


@dataclass
class Site:
    """One community's compound with its gate, device, building, household, resident, pass."""

    community: Community
    compound: Compound
    gate: Gate
    device: Device
    device_token: str
    building: Building
    household: Household
    resident: Resident
    pass_: Pass
    office: User
    guard: User
    extra: dict = field(default_factory=dict)


def site(street: Street, name: str, suffix: str) -> Site:
    community = Community(street_id=street.id, name=name + "社区")
    db.session.add(community)
    db.session.flush()
    compound = Compound(community_id=community.id, name=name + "小区")
    db.session.add(compound)
    db.session.flush()
    gate = Gate(compound_id=compound.id, name="东门")
    building = Building(compound_id=compound.id, name="1号楼")
    db.session.add_all([gate, building])
    db.session.flush()
    household = Household(building_id=building.id, unit="2", room="301")
    db.session.add(household)
    db.session.flush()
    dev, token = device(gate)
    res = resident(household)
    p = pass_for(res)
    office = user("office" + suffix, "office", community_id=community.id)
    guard = user("guard" + suffix, "guard", community_id=community.id)
    return Site(community, compound, gate, dev, token, building, household, res, p, office, guard)


@dataclass
class World:
    street: Street
    a: Site
    b: Site
    street_user: User
    resident_user: User
    worker: User


def world() -> World:
    street = Street(name="花乡街道")
    db.session.add(street)
    db.session.flush()
    a = site(street, "丰台", "_a")
    b = site(street, "樱桃", "_b")
    street_user = user("street", "street", street_id=street.id)
    resident_user = user("resident_a", "resident", household_id=a.household.id)
    worker = user("worker_a", "worker", community_id=a.community.id)
    db.session.commit()
    return World(street, a, b, street_user, resident_user, worker)


# --- Builders added for the API tests -------------------------------------------------------


def api_token(u: User, expires_at=None) -> str:
    """A bearer token for a user, written straight to the database (no scrypt, no rate limit)."""
    from datetime import timedelta

    from kiosk.models import ApiToken

    token = security.new_token()
    db.session.add(
        ApiToken(
            user_id=u.id,
            token_hash=security.token_hash(token),
            expires_at=expires_at or utcnow() + timedelta(hours=1),
        )
    )
    db.session.commit()
    return token


def foreign_street() -> tuple[Street, Site, User]:
    """A second street with one site and its own street user (outside world()'s street)."""
    street = Street(name="卢沟桥街道")
    db.session.add(street)
    db.session.flush()
    s = site(street, "卢沟桥", "_x")
    street_user = user("street_x", "street", street_id=street.id)
    db.session.commit()
    return street, s, street_user


def event(gate: Gate, occurred_at, direction: str = "in", decision: str = "allow", **kw):
    """An access event at a given moment (the scan API always uses the real clock)."""
    from kiosk.models import AccessEvent

    e = AccessEvent(
        occurred_at=occurred_at,
        gate_id=gate.id,
        direction=direction,
        decision=decision,
        reasons=kw.pop("reasons", ""),
        **kw,
    )
    db.session.add(e)
    db.session.flush()
    return e


# --- Builders added for the web page tests --------------------------------------------------

PIN = "2468"


def set_pin(u: User, pin: str = PIN) -> User:
    """Give a user a tablet PIN, hashed once per run per PIN (scrypt is slow on purpose)."""
    key = "pin:" + pin
    if key not in _HASH_CACHE:
        _HASH_CACHE[key] = security.hash_password(pin)
    u.pin_hash = _HASH_CACHE[key]
    db.session.flush()
    return u


def enrolment_code(d: Device, minutes: int = 15) -> str:
    """A fresh enrolment code for a device, as the office's device page would show it."""
    import secrets
    from datetime import timedelta

    from kiosk.services.devices import ENROL_ALPHABET, ENROL_LENGTH

    code = "".join(secrets.choice(ENROL_ALPHABET) for _ in range(ENROL_LENGTH))
    d.enrol_code_hash = security.token_hash(code)
    d.enrol_expires_at = utcnow() + timedelta(minutes=minutes)
    db.session.flush()
    return code


def risk_area(community: Community, name: str, level: str = "high", days_ago: int = 3):
    """A place the office lists as risky since a few days ago."""
    from datetime import timedelta

    from kiosk.models import RiskArea

    area = RiskArea(
        community_id=community.id, name=name, level=level, since=utcnow() - timedelta(days=days_ago)
    )
    db.session.add(area)
    db.session.flush()
    return area


def visit(site: Site, name: str, phone_hash: str, household=None, **kw):
    """A visit to a site's household (or another), registered at the gate and over."""
    v = Visit(
        compound_id=site.compound.id,
        host_household_id=(household or site.household).id,
        name=name,
        phone_hash=phone_hash,
        phone_last4=phone_hash[-4:],
        purpose="visit",
        health_code="green",
        via="gate",
        status="left",
        **kw,
    )
    db.session.add(v)
    db.session.flush()
    return v
