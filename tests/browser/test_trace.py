"""Tracing from the office's pages, as the office would: open the trace page from the menu, find
the person by name, choose them, give the reason, read the direct and same-place contacts and
download the CSV with a contact's name in it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from playwright.sync_api import expect as _expect

from kiosk.extensions import db
from kiosk.models import Household, utcnow

from .. import factories
from .conftest import screenshot
from .test_office import office_signs_in

expect = type(_expect)()
expect.set_options(timeout=10_000)


def test_an_office_worker_traces_a_resident_and_downloads_the_csv(
    page, live, live_app, site, in_app
):
    with in_app():
        a = site.a
        t = utcnow() - timedelta(days=1)
        other = Household(building_id=a.building.id, unit="3", room="502")
        db.session.add(other)
        db.session.flush()
        close = factories.resident(other, "李近")
        near = factories.resident(other, "王远")
        factories.resident(a.household, "张同住")
        factories.event(a.gate, t, "out", resident_id=a.resident.id, pass_id=a.pass_.id)
        factories.event(a.gate, t + timedelta(minutes=1), "out", resident_id=close.id)
        factories.event(a.gate, t + timedelta(minutes=12), "in", resident_id=near.id)
        db.session.commit()
        name = a.resident.name
        today = utcnow().astimezone(live_app.config["TZ"]).date().isoformat()

    office_signs_in(page, live, site)
    page.goto(live.url + "/office")
    page.locator(".subnav a[href='/office/trace']").click()
    page.wait_for_url("**/office/trace")

    search = page.locator("[data-testid=people-search]")
    search.locator("input[name=q]").fill(name)
    search.locator("button[type=submit]").click()
    rows = page.locator("[data-testid=people-results] tbody tr")
    expect(rows).to_have_count(1)
    rows.first.locator("[data-testid=trace-link]").click()
    page.wait_for_url("**/office/trace?resident_id=*")
    expect(page.locator("[data-testid=trace-person] h2")).to_have_text(name)

    form = page.locator("[data-testid=trace-form]")
    form.locator("input[name=reason]").fill("确诊病例 2026-17 密接排查")
    form.locator("button[type=submit]").click()
    direct = page.locator("[data-testid=direct-contacts]")
    same_place = page.locator("[data-testid=same-place-contacts]")
    expect(direct).to_contain_text("李近")
    expect(direct).to_contain_text("张同住")
    expect(same_place).to_contain_text("王远")
    expect(same_place).not_to_contain_text("李近")
    screenshot(page, "office-trace-report-zh")

    with page.expect_download() as download:
        page.locator("[data-testid=trace-export] button[value=csv]").click()
    assert download.value.suggested_filename == f"trace-{today}.csv"
    with open(download.value.path(), "rb") as fh:
        data = fh.read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert any(row and row[0] == "李近" for row in rows)
    assert any(row and row[0] == "王远" for row in rows)
