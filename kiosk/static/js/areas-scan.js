// The worker's disinfection page (worker/areas.html): camera.js reads the QR of an area's
// sticker and hands it here (its page contract: window.kioskGate.handleCode). A sticker holds
// this site's URL /worker/areas/<token>; the token is posted with the form (and the photo).
(() => {
  const form = document.getElementById("area-done-form");
  const tokenInput = document.getElementById("area-token");
  const statusEl = document.getElementById("camera-status");
  const STICKER = /^\/worker\/areas\/([A-Za-z0-9_-]{16,64})$/;
  let sent = false;

  function tokenOf(text) {
    try {
      const url = new URL(text, document.baseURI);
      const match = STICKER.exec(url.pathname);
      return match ? match[1] : null;
    } catch (_) {
      return null;
    }
  }

  window.kioskGate = {
    handleCode(text) {
      const token = tokenOf(String(text || "").trim());
      if (!token) {
        const tpl = document.getElementById("msg-not-a-sticker");
        if (statusEl && tpl) statusEl.textContent = tpl.content.textContent.trim();
        return;
      }
      sent = true;
      tokenInput.value = token;
      if (window.kioskCamera) window.kioskCamera.stop();
      form.submit();
    },
    isBusy() {
      return sent;
    },
  };
})();
