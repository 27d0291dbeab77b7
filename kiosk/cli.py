"""Command-line tasks: ``flask --app kiosk init-db | demo-data | create-user | set-password |
disable-user | purge``."""

from __future__ import annotations

import os
import random
import secrets
from datetime import timedelta

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import select

from .contract import org as shapes
from .contract.disinfection import AreaForm
from .contract.notices import NoticeCreate
from .contract.passes import PassCreate
from .contract.sensors import SensorEventCreate, SensorForm
from .domain.decision import Decision, Direction, Outcome
from .domain.deliveries import ServiceKind, ServiceStatus
from .domain.disinfection import AreaKind
from .domain.people import Role
from .extensions import db
from .models import Building, Gate, Household, Pass, Resident, ServiceRequest, Street, User, utcnow
from .services import (
    auth,
    devices,
    disinfection,
    gatelog,
    notices,
    org,
    passes,
    retention,
    sensors,
    staff,
)
from .services.errors import ServiceError

DEMO_PASSWORD = "kiosk-demo-2026"
DEMO_PIN = "2026"


def register(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(demo_data)
    app.cli.add_command(create_user)
    app.cli.add_command(set_password)
    app.cli.add_command(disable_user)
    app.cli.add_command(purge)


@click.command("init-db")
def init_db():
    """Create or upgrade the database schema to the newest migration."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo("Database is at the newest schema.")


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--community", "community_name", help="Community name; created under a default street if new."
)
@click.option("--household-id", type=int, help="For --role resident.")
@click.option("--password", help="Without it, a password is generated and printed.")
def create_user(username, role, community_name, household_id, password):
    """Create a user; prints the password if one was generated."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    community = org.get_or_create_community(community_name) if community_name else None
    household = db.session.get(Household, household_id) if household_id else None
    try:
        user = auth.create_user(username, role, password, community=community, household=household)
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from None
    click.echo(f"Created {user.role} user {user.username}.")
    if generated:
        click.echo(f"Password: {password}")


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"No user {username!r}.")
    return user


@click.command("set-password")
@click.argument("username")
@click.option("--password", help="Without it, a password is generated and printed.")
def set_password(username, password):
    """Give a user a new password; every session and API token of the user ends."""
    user = _user(username)
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        auth.set_password(user, password)
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from None
    click.echo(f"New password set for {user.username}; their sessions have ended.")
    if generated:
        click.echo(f"Password: {password}")


@click.command("disable-user")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Allow the user to sign in again.")
def disable_user(username, enable):
    """Stop a user signing in; every session and API token of the user ends at once."""
    user = _user(username)
    auth.set_active(user, enable)
    if enable:
        click.echo(f"{user.username} may sign in again.")
    else:
        click.echo(f"{user.username} is disabled; their sessions have ended.")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help="Rows per transaction (default: PURGE_BATCH_SIZE, 500).",
)
@click.option("--street", "street_name", help="Only this street (by name).")
def purge(dry_run, batch_size, street_name):
    """Delete what is older than each street's retention period (and old audit entries); daily
    counts per gate are kept. Safe to run again, from cron or a systemd timer."""
    street_id = None
    if street_name is not None:
        street_id = db.session.scalar(select(Street.id).where(Street.name == street_name))
        if street_id is None:
            raise click.ClickException(f"No street {street_name!r}.")
    runs = retention.purge(utcnow(), batch_size=batch_size, street_id=street_id, dry_run=dry_run)
    if not runs:
        click.echo("No street to purge.")
    names = dict(db.session.execute(select(Street.id, Street.name)).all())
    tz = current_app.config["TZ"]
    for run in runs:
        counts = retention.deleted_counts(run)
        went = ", ".join(f"{table} {rows}" for table, rows in counts.items() if rows) or "nothing"
        cutoff = run.cutoff.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        verb = "would delete" if dry_run else "deleted"
        click.echo(
            f"{names[run.street_id]}: older than {cutoff} ({run.retention_days} days), "
            f"{verb}: {went}."
        )
    if dry_run:
        click.echo("Dry run: nothing was deleted.")


@click.command("demo-data")
def demo_data():
    """Load a demo street, community, compounds, people, passes and users; prints the logins."""
    if os.environ.get("KIOSK_ENV") == "production":
        raise click.ClickException("Refusing to load demo data with KIOSK_ENV=production.")
    if db.session.scalar(select(User.id).where(User.username == "office")) is None:
        _load_demo()
        click.echo("Demo data loaded.")
    else:
        click.echo("Demo data is there already.")
    click.echo(
        f"Demo logins (password for all: {DEMO_PASSWORD}; gate tablet PIN of guard and office: {DEMO_PIN}):"
    )
    for user in db.session.scalars(select(User).order_by(User.id)):
        click.echo(f"  {user.username:<10} {user.role}")
    click.echo(
        "Enrol a gate tablet: sign in as office, open /office/devices, add a tablet, and enter"
    )
    click.echo("its code at /gate/enrol on the tablet. Visitor posters: /office/compounds.")


def _load_demo() -> None:
    PHONE_PASS = PassCreate.parse({"kind": "resident"})  # noqa: N806
    PAPER_PASS = PassCreate.parse({"kind": "paper"})  # noqa: N806
    community = org.get_or_create_community("丰台社区", "花乡街道")
    db.session.commit()
    office = auth.create_user("office", "office", DEMO_PASSWORD, community=community)
    auth.create_user("street", "street", DEMO_PASSWORD, community=community)
    guard = auth.create_user("guard", "guard", DEMO_PASSWORD, community=community)
    staff.set_pin(office, guard.id, DEMO_PIN)
    staff.set_pin(office, office.id, DEMO_PIN)
    auth.create_user("worker", "worker", DEMO_PASSWORD, community=community)
    surnames = "王李张刘陈杨赵黄周吴"
    given = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "洋"]
    first_household = None
    for c_index, (compound_name, gates) in enumerate(
        (("新发地北里", ("东门", "西门", "南门")), ("樱桃园小区", ("北门", "南门")))
    ):
        compound = org.create_compound(office, shapes.CompoundCreate.parse({"name": compound_name}))
        for gate_name in gates:
            gate = org.create_gate(
                office, compound.id, shapes.GateCreate.parse({"name": gate_name})
            )
            _device, token = devices.create_device(
                office, gate.id, shapes.DeviceCreate.parse({"name": f"{gate_name}平板"})
            )
            click.echo(f"  device token for {compound_name} {gate_name}: {token}")
        for b in range(1, 4):
            building = org.create_building(
                office, compound.id, shapes.BuildingCreate.parse({"name": f"{b}号楼"})
            )
            for unit in ("1", "2"):
                for room in ("101", "102", "201"):
                    household = org.create_household(
                        office,
                        building.id,
                        shapes.HouseholdCreate.parse({"unit": unit, "room": room}),
                    )
                    first_household = first_household or household
                    for person in range(2):
                        n = (c_index * 100 + b * 10 + int(unit) * 3 + int(room[0]) + person) % 10
                        resident = org.create_resident(
                            office,
                            household.id,
                            shapes.ResidentCreate.parse(
                                {
                                    "name": surnames[n] + given[(n + person) % 10],
                                    "id_number": f"11010619{70 + n}0101{b}{unit}{room[-1]}{person}",
                                }
                            ),
                        )
                        passes.issue_pass(office, resident.id, PHONE_PASS)
                        if person == 1 and room == "201":
                            passes.issue_pass(office, resident.id, PAPER_PASS)
    _load_demo_resident(office, first_household, PAPER_PASS)
    # One household under home observation, as in the market outbreak.
    observed = db.session.scalars(select(Household).order_by(Household.id.desc())).first()
    observed.observation_until = utcnow() + timedelta(days=14)
    observed.observation_reason = "6月1日后去过新发地市场"
    db.session.commit()
    _load_demo_deliveries(first_household)
    _load_demo_notices(office, first_household)
    _load_demo_door_sensor(office, observed)
    _load_demo_areas(office, first_household.building)
    _load_demo_passages()


def _load_demo_door_sensor(office: User, observed: Household) -> None:
    """A door sensor on the observed household's door, enrolled, that has just reported the
    door opening: an open alarm on the office's dashboard and /office/alarms (through the same
    calls as a real sensor)."""
    form = SensorForm.read({"household_id": str(observed.id), "name": f"门磁 {observed.room}"})
    _sensor, code = sensors.create_sensor(office, form)
    _sensor, token = sensors.enrol(code)
    now = utcnow()
    for key, kind, minutes_ago in (("demo-1", "heartbeat", 3), ("demo-2", "door_open", 2)):
        sensors.record_event(
            token,
            SensorEventCreate.model_validate(
                {"event": kind, "at": (now - timedelta(minutes=minutes_ago)).isoformat(), "id": key}
            ),
        )


def _load_demo_areas(office: User, building: Building) -> None:
    """The first compound's public areas to disinfect (/office/disinfection and the workers'
    phones), and its first building's rubbish round at fixed times."""
    for name, kind, building_id, fixed in (
        ("东门岗亭", AreaKind.GATE, None, None),
        (f"{building.name}电梯", AreaKind.LIFT, building.id, None),
        (f"{building.name}楼梯间", AreaKind.STAIRWELL, building.id, None),
        (f"{building.name}垃圾清运", AreaKind.RUBBISH, building.id, "08:00,18:00"),
    ):
        fields = {"compound_id": str(building.compound_id), "name": name, "kind": kind.value}
        if building_id is not None:
            fields["building_id"] = str(building_id)
        if fixed:
            fields["fixed_times"] = fixed
        disinfection.create_area(office, AreaForm.read(fields))


def _load_demo_passages(days: int = 5) -> None:
    """A few days of the gate log, so that the office's trace (/office/trace) has a route and
    contacts to show: each resident out through a gate of their compound in the morning and
    back in the evening, at times drawn from a fixed seed (written by the gate log's writer)."""
    draw = random.Random(2020)
    people = db.session.execute(
        select(Resident.id, Building.compound_id, Pass.id)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Pass, Pass.resident_id == Resident.id)
        .where(Pass.kind == "resident")
    ).all()
    gates: dict[int, list[int]] = {}
    for gate_id, compound_id in db.session.execute(select(Gate.id, Gate.compound_id)):
        gates.setdefault(compound_id, []).append(gate_id)
    tz = current_app.config["TZ"]
    today = utcnow().astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    allow = Outcome(Decision.ALLOW, ())
    for day in range(days, 0, -1):
        midnight = today - timedelta(days=day)
        for resident_id, compound_id, pass_id in people:
            for direction, hour in ((Direction.OUT, 7), (Direction.IN, 17)):
                gatelog.write(
                    db.session,
                    gatelog.Entry(
                        occurred_at=midnight + timedelta(hours=hour, minutes=draw.randrange(150)),
                        gate_id=draw.choice(gates[compound_id]),
                        device_id=None,
                        guard_id=None,
                        direction=direction,
                        outcome=allow,
                        temperature=round(draw.uniform(36.0, 36.9), 1),
                        pass_id=pass_id,
                        resident_id=resident_id,
                    ),
                )
    db.session.commit()


def _load_demo_resident(office: User, household: Household, paper_pass) -> None:
    """The demo user ``resident``: joined, bound to the first member of the first household
    (who has a phone pass, so /me shows a live code); and an elderly member of the same
    household with a paper pass and no login (the one the family prints passes for)."""
    member = db.session.scalar(
        select(Resident).where(Resident.household_id == household.id).order_by(Resident.id)
    )
    user = auth.create_user("resident", "resident", DEMO_PASSWORD, household=household)
    user.resident_id = member.id
    db.session.commit()
    elder = org.create_resident(
        office,
        household.id,
        shapes.ResidentCreate.parse({"name": "王桂兰", "id_number": "110106193803150028"}),
    )
    passes.issue_pass(office, elder.id, paper_pass)


def _load_demo_deliveries(household: Household) -> None:
    """Deliveries: the demo resident's household may ask (the office allowed it), and has two
    requests for the demo worker: one open, one the worker has taken."""
    household.services_allowed = True
    worker = db.session.scalar(select(User).where(User.username == "worker"))
    asker = db.session.scalar(select(User).where(User.username == "resident"))
    community_id = household.building.compound.community_id
    now = utcnow()
    db.session.add_all(
        [
            ServiceRequest(
                household_id=household.id,
                community_id=community_id,
                kind=ServiceKind.GROCERIES.value,
                note="大米一袋，青菜，鸡蛋一盒",
                requested_by_id=asker.id if asker else None,
                created_at=now - timedelta(minutes=40),
            ),
            ServiceRequest(
                household_id=household.id,
                community_id=community_id,
                kind=ServiceKind.MEDICINE.value,
                note="降压药（硝苯地平缓释片）一盒，处方已拍照",
                status=ServiceStatus.TAKEN.value,
                requested_by_id=asker.id if asker else None,
                worker_id=worker.id,
                created_at=now - timedelta(minutes=25),
                taken_at=now - timedelta(minutes=10),
            ),
        ]
    )
    db.session.commit()


def _load_demo_notices(office: User, household: Household) -> None:
    """Two notices the demo resident sees on /me and /me/household: the community's testing
    times, and one for their building."""
    notices.create(
        office,
        NoticeCreate(
            title="全员核酸检测",
            body="6月14日（周日）8:00–11:30，在小区东门广场。\n请带好身份证，排队保持一米间隔。",
        ),
    )
    notices.create(
        office,
        NoticeCreate(
            title="楼道消毒",
            body="本楼每天上午9点消毒楼道和电梯，消毒后请开窗通风。",
            building_id=household.building_id,
        ),
    )
