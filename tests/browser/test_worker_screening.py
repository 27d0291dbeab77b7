"""A worker's screening calls on a 390×844 phone: the row the office assigned is reached from the
worker's start page by a click, its call saved as cleared; the office's row shows it."""

from __future__ import annotations

from kiosk.extensions import db
from kiosk.models import ScreeningList, ScreeningRow, User

from .conftest import screenshot
from .test_deliveries import phone, sign_in


def test_a_worker_clears_an_assigned_row_from_the_phone(browser, live, site, in_app):
    with in_app():
        worker_id = db.session.scalar(db.select(User.id).where(User.username == "worker_a"))
        lst = ScreeningList(community_id=site.a.community.id, name="30日后到过新发地市场人员")
        db.session.add(lst)
        db.session.flush()
        row = ScreeningRow(
            list_id=lst.id,
            row_number=2,
            name=site.a.resident.name,
            match="matched",
            resident_id=site.a.resident.id,
            call_status="not_reached",
            assigned_to_id=worker_id,
        )
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    worker = phone(browser)
    sign_in(worker, live, "worker_a")
    worker.goto(live.url + "/worker")
    worker.get_by_role("link", name="核查电话").click()
    worker.wait_for_url("**/worker/screening")
    card = worker.locator(f"[data-row-id='{row_id}']")
    assert "张**" in card.inner_text() and "未联系上" in card.inner_text()
    screenshot(worker, "worker-screening-zh")
    card.locator("select[name=call_status]").select_option("cleared")
    card.locator("textarea[name=note]").fill("已做核酸，阴性")
    card.get_by_role("button", name="保存").click()
    worker.wait_for_url("**/worker/screening")
    assert "已排除" in worker.locator(f"[data-row-id='{row_id}']").inner_text()
    with in_app():
        saved = db.session.get(ScreeningRow, row_id)
        assert (saved.call_status, saved.closed, saved.updated_by_id) == (
            "cleared",
            True,
            worker_id,
        )
    assert not worker.js_errors
