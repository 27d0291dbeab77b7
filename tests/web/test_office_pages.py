"""The community office's pages: tablets, guards' PINs, risk areas, visitor policy and poster,
alerts and overrides, each kept to the office's own community."""

from __future__ import annotations

import re

from kiosk.extensions import db
from kiosk.models import Alert, Compound, Device, RiskArea, User, utcnow
from tests import factories

from .conftest import Browser


def error_of(response) -> str | None:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', response.text, re.S)
    return found.group(1) if found else None


def table_rows(text: str) -> list[str]:
    return re.findall(r"<tr[^>]*>(.*?)</tr>", text, re.S)


# --- the dashboard ----------------------------------------------------------------------------


def test_dashboard_shows_only_this_communitys_alerts_and_overrides(app, world, office):
    b = world.b
    hot = factories.event(b.gate, utcnow(), "in", "deny", reasons="fever", temperature=38.4)
    db.session.add(
        Alert(
            community_id=b.community.id,
            gate_id=b.gate.id,
            event_id=hot.id,
            kind="fever",
            temperature=38.4,
        )
    )
    referred = factories.event(b.gate, utcnow(), "in", "refer", reasons="temperature_required")
    factories.event(
        b.gate,
        utcnow(),
        "in",
        "allow",
        parent_id=referred.id,
        override=True,
        user_id=b.guard.id,
        override_reason="known_resident",
    )
    db.session.commit()
    (alert,) = db.session.scalars(db.select(Alert)).all()

    page = office.get("/office")
    assert page.status_code == 200
    assert "<h1>发热警报</h1>" in page.text
    assert "没有未处理的警报。" in page.text and "还没有人工决定。" in page.text
    assert "38.4" not in page.text and "guard_b" not in page.text
    r = office.post(f"/office/alerts/{alert.id}/ack", htmx=True)
    assert r.status_code == 404
    db.session.refresh(alert)
    assert alert.acknowledged_at is None

    other = Browser(app).sign_in(b.office).get("/office").text
    assert f'data-alert-id="{alert.id}"' in other and "<strong>38.4 °C</strong>" in other
    assert '<tr class="override-allow">' in other and "<td>guard_b</td>" in other
    assert "熟识的居民" in other


def test_the_street_office_sees_every_community_of_its_street(sqlite_app, sworld):
    street = Browser(sqlite_app).sign_in(sworld.street_user)
    page = street.get("/office/compounds").text
    assert "丰台小区" in page and "樱桃小区" in page
    devices = street.get("/office/devices").text
    assert (
        f'<option value="{sworld.a.gate.id}"' in devices
        and f'<option value="{sworld.b.gate.id}"' in devices
    )


# --- tablets ----------------------------------------------------------------------------------


def test_devices_page_lists_only_this_communitys_gates_and_tablets(sqlite_app, sworld, soffice):
    page = soffice.get("/office/devices")
    assert page.status_code == 200
    assert "<h1>门岗平板</h1>" in page.text
    assert f'<option value="{sworld.a.gate.id}" >丰台小区 · 东门</option>' in page.text
    assert f'<option value="{sworld.b.gate.id}"' not in page.text
    assert f"/office/devices/{sworld.a.device.id}/enrolment" in page.text
    assert f"/office/devices/{sworld.b.device.id}/enrolment" not in page.text
    assert "<td>尚未登记</td>" in page.text


def test_a_tablet_form_with_a_problem_keeps_what_was_typed(sqlite_app, sworld, soffice):
    r = soffice.post("/office/devices", {"gate_id": "", "name": "北门平板"})
    assert r.status_code == 200
    assert error_of(r) == "请选择出入口。"
    assert 'name="name" value="北门平板"' in r.text
    r = soffice.post("/office/devices", {"gate_id": str(sworld.a.gate.id), "name": ""})
    assert error_of(r) == "平板名称：此项必填。"
    assert f'<option value="{sworld.a.gate.id}" selected>' in r.text
    assert 'data-testid="enrol-code"' not in r.text
    assert len(db.session.scalars(db.select(Device)).all()) == 2


def test_no_tablet_for_another_communitys_gate(app, world, office):
    r = office.post("/office/devices", {"gate_id": str(world.b.gate.id), "name": "越权平板"})
    assert r.status_code == 200
    assert error_of(r) == "未找到。"
    assert 'data-testid="enrol-code"' not in r.text
    assert db.session.scalar(db.select(Device).where(Device.name == "越权平板")) is None

    r = office.post(f"/office/devices/{world.b.device.id}/enrolment")
    assert r.status_code == 404
    assert 'data-testid="enrol-code"' not in r.text
    db.session.expire_all()
    assert db.session.get(Device, world.b.device.id).enrol_code_hash is None


def test_a_revoked_tablet_gets_no_new_code(sqlite_app, sworld, soffice):
    sworld.a.device.revoked_at = utcnow()
    db.session.commit()
    r = soffice.post(f"/office/devices/{sworld.a.device.id}/enrolment")
    assert r.status_code == 200
    assert error_of(r) == "此设备已停用。"
    assert 'data-testid="enrol-code"' not in r.text


# --- guards -----------------------------------------------------------------------------------


def test_office_sets_a_guards_pin_and_the_guard_signs_in_with_it(sqlite_app, sworld, soffice):
    page = soffice.get("/office/guards")
    assert "<h1>门岗人员</h1>" in page.text
    assert "<td>guard_a</td>" in page.text and "<td>office_a</td>" in page.text
    assert "guard_b" not in page.text and "worker_a" not in page.text
    assert "<td>未设 PIN 码</td>" in page.text

    r = soffice.post(
        "/office/guards",
        {"user_id": str(sworld.a.guard.id), "pin": "13579"},
        follow_redirects=True,
    )
    assert [h.status_code for h in r.history] == [303] and r.status_code == 200
    assert '<p class="flash flash-success" role="status">已为 guard_a 设置 PIN 码。</p>' in r.text
    assert "<td>已设 PIN 码</td>" in r.text

    tablet = Browser(sqlite_app, sworld.a.device_token)
    r = tablet.post("/gate/login", {"username": "guard_a", "pin": "13579"})
    assert r.status_code == 303 and r.headers["Location"] == "/gate"


def test_a_pin_must_be_four_to_eight_digits(sqlite_app, sworld, soffice):
    for pin in ("123", "123456789", "12a4", "１２３４", ""):
        r = soffice.post("/office/guards", {"user_id": str(sworld.a.guard.id), "pin": pin})
        assert r.status_code == 200
        assert error_of(r) == "PIN 码必须是 4 到 8 位数字。", pin
        assert "flash-success" not in r.text
    db.session.expire_all()
    assert db.session.get(User, sworld.a.guard.id).pin_hash is None


def test_no_pin_for_another_communitys_guard_or_a_worker(sqlite_app, sworld, soffice):
    for user in (sworld.b.guard, sworld.worker, sworld.resident_user):
        r = soffice.post("/office/guards", {"user_id": str(user.id), "pin": "2468"})
        assert r.status_code == 200
        assert error_of(r) == "未找到。"
    r = soffice.post("/office/guards", {"user_id": "guard_b", "pin": "2468"})
    assert error_of(r) == "未找到。"
    db.session.expire_all()
    assert all(u.pin_hash is None for u in db.session.scalars(db.select(User)))


# --- risk areas -------------------------------------------------------------------------------


def test_office_adds_and_removes_a_risk_area(app, world, office, tablet):
    page = office.get("/office/risk-areas")
    assert "<h1>风险地区</h1>" in page.text and "没有列出风险地区。" in page.text
    r = office.post(
        "/office/risk-areas",
        {"name": "新发地批发市场", "level": "high", "since": "2020-06-10"},
        follow_redirects=True,
    )
    assert [h.status_code for h in r.history] == [303] and r.status_code == 200
    assert error_of(r) is None
    (area,) = db.session.scalars(db.select(RiskArea)).all()
    assert (area.community_id, area.name, area.level) == (
        world.a.community.id,
        "新发地批发市场",
        "high",
    )
    row = [row for row in table_rows(r.text) if "新发地批发市场" in row]
    assert row and "2020-06-10" in row[0] and "高风险" in row[0]
    assert f'hx-post="/office/risk-areas/{area.id}/delete"' in row[0]
    assert 'name="name" value=""' in r.text  # the form is empty again
    assert "新发地批发市场" in tablet.get("/gate/visitors/new", htmx=True).text

    r = office.post(f"/office/risk-areas/{area.id}/delete", htmx=True)
    assert r.status_code == 200 and r.text == ""
    db.session.refresh(area)
    assert area.deleted_at is not None
    assert "新发地批发市场" not in office.get("/office/risk-areas").text
    assert "新发地批发市场" not in tablet.get("/gate/visitors/new", htmx=True).text
    assert office.post(f"/office/risk-areas/{area.id}/delete", htmx=True).status_code == 404


def test_a_risk_area_with_a_problem_is_shown_with_the_message(sqlite_app, sworld, soffice):
    cases = [
        ({"name": "", "level": "high", "since": "2020-06-10"}, "地点：此项必填。"),
        (
            {"name": "新发地", "level": "extreme", "since": "2020-06-10"},
            "风险等级：必须是 high, medium, low 之一。",
        ),
        ({"name": "新发地", "level": "high", "since": "2099-01-01"}, "起始日期不能是将来的时间。"),
        (
            {"name": "新发地", "level": "high", "since": "June 10"},
            "起始日期：必须是 ISO 8601 格式的时间。",
        ),
    ]
    for form, message in cases:
        r = soffice.post("/office/risk-areas", form)
        assert r.status_code == 200
        assert error_of(r) == message
        assert f'name="name" value="{form["name"]}"' in r.text
        assert f'name="since" type="date" value="{form["since"]}"' in r.text
    assert db.session.scalars(db.select(RiskArea)).all() == []


def test_another_communitys_risk_area_is_neither_listed_nor_removed(app, world, office):
    theirs = factories.risk_area(world.b.community, "樱桃市场")
    db.session.commit()
    assert "樱桃市场" not in office.get("/office/risk-areas").text
    assert office.post(f"/office/risk-areas/{theirs.id}/delete", htmx=True).status_code == 404
    db.session.refresh(theirs)
    assert theirs.deleted_at is None
    assert "樱桃市场" in Browser(app).sign_in(world.b.office).get("/office/risk-areas").text


# --- compounds, visitor policy and the poster -------------------------------------------------


def test_office_sets_the_visitor_policy(app, world, office):
    page = office.get("/office/compounds")
    assert "<h1>小区与访客</h1>" in page.text
    assert "丰台小区" in page.text and "樱桃小区" not in page.text
    r = office.post(
        "/office/compounds",
        {"compound_id": str(world.a.compound.id), "visitor_policy": "registered"},
        follow_redirects=True,
    )
    assert [h.status_code for h in r.history] == [303]
    assert r.status_code == 200 and error_of(r) is None
    assert '<option value="registered" selected>仅限提前登记的访客</option>' in r.text
    db.session.expire_all()
    assert db.session.get(Compound, world.a.compound.id).visitor_policy == "registered"

    r = office.post(
        "/office/compounds", {"compound_id": str(world.a.compound.id), "visitor_policy": "all"}
    )
    assert error_of(r) == "请选择访客政策。"
    r = office.post(
        "/office/compounds", {"compound_id": str(world.b.compound.id), "visitor_policy": "none"}
    )
    assert error_of(r) == "未找到。"
    db.session.expire_all()
    assert db.session.get(Compound, world.a.compound.id).visitor_policy == "registered"
    assert db.session.get(Compound, world.b.compound.id).visitor_policy == "open"


def test_the_poster_links_to_the_public_form(sqlite_app, sworld, soffice):
    compounds = soffice.get("/office/compounds").text
    assert f'href="/office/compounds/{sworld.a.compound.id}/poster"' in compounds
    r = soffice.get(f"/office/compounds/{sworld.a.compound.id}/poster")
    assert r.status_code == 200
    link = f"http://localhost/visit/{sworld.a.compound.public_slug}"
    assert f'<p class="link">{link}</p>' in r.text
    assert re.search(r'<div class="qr"><svg', r.text)
    assert "<h1>丰台小区</h1>" in r.text and "访客请扫码，到门口前先登记。" in r.text
    assert Browser(sqlite_app).get(link.removeprefix("http://localhost")).status_code == 200
    assert soffice.get(f"/office/compounds/{sworld.b.compound.id}/poster").status_code == 404


def test_an_override_note_of_other_is_shown_with_its_text(sqlite_app, sworld, soffice):
    a = sworld.a
    referred = factories.event(
        a.gate, utcnow(), "in", "refer", reasons="already_inside temperature_required"
    )
    factories.event(
        a.gate,
        utcnow(),
        "in",
        "allow",
        parent_id=referred.id,
        override=True,
        user_id=a.guard.id,
        override_reason="other",
        note="居委会主任陪同",
    )
    db.session.commit()
    page = soffice.get("/office").text
    (row,) = re.findall(r'<tr class="override-allow">(.*?)</tr>', page, re.S)
    assert "记录显示此证已在小区内; 进入前请先测体温" in row
    assert "其他（请填写说明）: 居委会主任陪同" in row


def test_a_denial_note_is_shown_as_written(sqlite_app, sworld, soffice):
    a = sworld.a
    referred = factories.event(a.gate, utcnow(), "in", "refer", reasons="temperature_required")
    factories.event(
        a.gate,
        utcnow(),
        "in",
        "deny",
        parent_id=referred.id,
        override=True,
        user_id=a.guard.id,
        note="拒绝 测温 走了",
    )
    db.session.commit()
    page = soffice.get("/office").text
    (row,) = re.findall(r'<tr class="override-deny">(.*?)</tr>', page, re.S)
    cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[-1] == "拒绝 测温 走了"


def test_an_office_user_sets_no_pin_for_another_office_user(sqlite_app, sworld, soffice):
    """A PIN signs in at the gate under that person's name: an office user sets guards' PINs
    and their own, never a colleague's."""
    colleague = factories.user("office_a2", "office", community_id=sworld.a.community.id)
    db.session.commit()
    page = soffice.get("/office/guards").text
    assert "<td>office_a</td>" in page and "office_a2" not in page
    r = soffice.post("/office/guards", {"user_id": str(colleague.id), "pin": "13579"})
    assert r.status_code == 200 and 'role="alert"' in r.text and "flash-success" not in r.text
    db.session.expire_all()
    assert db.session.get(User, colleague.id).pin_hash is None
    r = soffice.post("/office/guards", {"user_id": str(sworld.a.office.id), "pin": "24680"})
    assert r.status_code == 303
