"""Camera scanning: a real QR code in front of a (fake) camera, decoded in the page by zxing-wasm.

Chromium reads the "camera" from a Y4M file that shows a paper pass's QR code on white; the file
loops, so the code stays in view, as when a resident holds the pass up to the tablet.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from kiosk.extensions import db
from kiosk.models import Compound, Pass
from kiosk.services.passes import code_for

from .. import factories
from ._gate import events, result
from .conftest import CHROMIUM, CHROMIUM_ARGS, enrol_and_sign_in, new_page, screenshot

# Watched this long after the result has cleared itself (4 s after the decision): a code still
# in view would be sent again at the first frame once the gate is free, if the repeat window
# (4 s, sliding while the code stays in view) did not hold it back.
HELD_SECONDS = 2.5


def _camera_file(text: str, folder) -> str:
    """A 640x480 Y4M (4:2:0) video of the QR code of ``text`` on white."""
    import qrcode
    from PIL import Image

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to make the fake camera's video")
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    code = qr.make_image(fill_color="black", back_color="white").convert("RGB")
    side = min(400, code.size[0])
    code = code.resize((side, side), Image.NEAREST)
    frame = Image.new("RGB", (640, 480), "white")
    frame.paste(code, ((640 - side) // 2, (480 - side) // 2))
    png = folder / "qr.png"
    frame.save(png)
    y4m = folder / "camera.y4m"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-loop",
            "1",
            "-i",
            str(png),
            "-t",
            "2",
            "-r",
            "10",
            "-pix_fmt",
            "yuv420p",
            "-vf",
            "scale=640:480",
            str(y4m),
        ],
        check=True,
        timeout=60,
    )
    return str(y4m)


@pytest.fixture
def camera_browser(playwright_instance, tmp_path):
    """A Chromium of its own whose camera shows the file written by ``show(text)``."""
    launched = []

    def show(text: str):
        y4m = _camera_file(text, tmp_path)
        b = playwright_instance.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS
            + [
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={y4m}",
            ],
        )
        launched.append(b)
        return b

    yield show
    for b in launched:
        b.close()


def _events(in_app) -> list[tuple]:
    return [
        (e["decision"], e["pass_id"], e["user_id"], e["direction"], e["reasons"])
        for e in events(in_app)
    ]


def test_a_paper_pass_held_up_to_the_camera_is_decided_once(camera_browser, live, site, in_app):
    with in_app():
        db.session.get(Compound, site.a.compound.id).temperature_required = False
        paper = factories.pass_for(db.session.merge(site.a.resident), kind="paper")
        db.session.commit()
        paper_id = paper.id
        code = code_for(db.session.get(Pass, paper_id))

    browser = camera_browser(code)
    page = new_page(browser)
    page.context.grant_permissions(["camera"], origin=live.url)
    try:
        enrol_and_sign_in(page, live, site)
        assert page.locator("#camera").is_hidden()
        page.click("#camera-button")
        page.locator("#camera").wait_for(state="visible")

        shown = result(page, timeout=20_000)  # camera start, wasm compile, first decodes
        screenshot(page, "gate-camera-paper-allow-zh")
        assert shown["decision"] == "allow"
        assert "放行" in shown["text"] and "张**" in shown["text"]
        assert shown["paperNote"] and "纸质通行证：请核对本人与身份证。" in shown["text"]
        assert page.evaluate("window.kioskCamera.running()")
        assert page.locator("#camera-status").get_attribute("data-error") is None

        # The server decided exactly the code on the camera: the paper pass, once.
        assert _events(in_app) == [("allow", paper_id, site.a.guard.id, "in", "")]

        # The code stays in view: the result clears itself and the same code is not sent again.
        decodes_before = page.evaluate("window.kioskCamera.decodeCount()")
        first = page.locator(f"#result [data-event-id='{shown['eventId']}']")
        first.wait_for(state="detached", timeout=8000)
        deadline = time.monotonic() + HELD_SECONDS
        while time.monotonic() < deadline:
            assert len(_events(in_app)) == 1, "the code held in view was sent again"
            time.sleep(0.25)
        # ...while the camera was reading it all along (it did not just stop looking).
        assert page.evaluate("window.kioskCamera.decodeCount()") > decodes_before + 5
        assert page.locator("#result [data-decision]").count() == 0
        screenshot(page, "gate-camera-held-no-repeat-zh")

        page.click("[data-action=camera-off]")
        page.locator("#camera").wait_for(state="hidden")
        assert not page.evaluate("window.kioskCamera.running()")
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()
