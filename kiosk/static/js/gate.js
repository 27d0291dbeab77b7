/* The guard's scan page: keyboard-wedge scanning, the temperature keypad, the result screen,
 * sounds, and a queue that keeps scans when the server cannot be reached.
 *
 * Scans go to the server with a request id; a scan that fails for the network is queued (in
 * localStorage, so a reload keeps it) and sent again with the same id until the server answers.
 * Nothing is ever shown as allowed that the server did not allow.
 */
(function () {
  "use strict";

  const root = document.getElementById("gate");
  if (!root) return;

  const wedge = document.getElementById("wedge");
  const resultBox = document.getElementById("result");
  const sheet = document.getElementById("sheet");
  const keypad = document.getElementById("keypad");
  const keypadDisplay = document.getElementById("keypad-display");
  const keypadError = document.getElementById("keypad-error");
  const banner = document.getElementById("offline-banner");
  const pendingCount = banner.querySelector("[data-testid=pending-count]");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const scanUrl = root.dataset.scanUrl;
  const clearSeconds = parseInt(root.dataset.clearSeconds || "6", 10);
  const temperatureRequired = root.dataset.temperatureRequired === "1";
  const queueKey = "kiosk-queue-" + root.dataset.gateId;
  const directionKey = "kiosk-direction-" + root.dataset.gateId;
  const text = (id) => (document.getElementById(id) || { innerHTML: "" }).innerHTML.trim();

  let direction = localStorage.getItem(directionKey) === "out" ? "out" : "in";
  let keypadCallback = null;
  let clearTimer = null;
  let retryTimer = null;
  let sending = false;
  const SLOW_MS = 1000; // no answer yet after this: say so, rather than show nothing
  const SEND_TIMEOUT_MS = 8000; // a request that hangs is given up and kept, like a refused one

  // --- direction ---------------------------------------------------------------------------
  function showDirection() {
    root.querySelectorAll("[data-direction]").forEach((b) => {
      const on = b.dataset.direction === direction;
      b.classList.toggle("active", on);
      b.setAttribute("aria-checked", on ? "true" : "false");
    });
    root.dataset.direction = direction;
  }
  root.querySelectorAll("[data-direction]").forEach((b) =>
    b.addEventListener("click", () => {
      direction = b.dataset.direction;
      localStorage.setItem(directionKey, direction);
      showDirection();
      refocus();
    })
  );
  showDirection();

  // --- focus: the wedge input takes the scanner's keystrokes whenever nothing else needs them --
  function busy() {
    return !keypad.hidden || resultBox.childElementCount > 0 || sheet.childElementCount > 0;
  }
  function refocus() {
    if (busy()) return;
    const active = document.activeElement;
    if (active && active !== wedge && active.closest && active.closest("form, select")) return;
    wedge.focus({ preventScroll: true });
  }
  setInterval(refocus, 700);
  document.addEventListener("click", () => setTimeout(refocus, 0));

  wedge.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      const value = wedge.value.trim();
      wedge.value = "";
      if (value) handleCode(value, "wedge");
    }
  });

  // --- sounds: one pattern per colour ---------------------------------------------------------
  let audio = null;
  function beep(decision) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const patterns = { allow: [[880, 0.12]], refer: [[660, 0.12], [660, 0.12]], deny: [[220, 0.45]] };
      let t = audio.currentTime;
      (patterns[decision] || []).forEach(([freq, len]) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = decision === "deny" ? "square" : "sine";
        osc.frequency.value = freq;
        gain.gain.value = 0.2;
        osc.connect(gain).connect(audio.destination);
        osc.start(t);
        osc.stop(t + len);
        t += len + 0.08;
      });
    } catch (err) {
      /* no audio on this device: the colours and words still say it */
    }
  }

  // --- the result screen ------------------------------------------------------------------------
  function clearResult() {
    clearTimeout(clearTimer);
    resultBox.innerHTML = "";
    refocus();
  }
  function showResult(html) {
    clearTimeout(clearTimer);
    resultBox.innerHTML = html;
    if (window.htmx) window.htmx.process(resultBox);
    afterResult();
  }
  function afterResult() {
    const result = resultBox.querySelector("[data-decision]");
    if (!result) return;
    const decision = result.dataset.decision;
    beep(decision === "problem" ? "refer" : decision);
    document.body.dispatchEvent(new Event("scanned"));
    // A referred scan waits for the guard; the rest clear themselves.
    if (decision !== "refer") clearTimer = setTimeout(clearResult, clearSeconds * 1000);
  }
  resultBox.addEventListener("htmx:afterSwap", afterResult);

  document.addEventListener("click", (e) => {
    const target = e.target.closest("[data-action]");
    if (!target) return;
    const action = target.dataset.action;
    if (action === "dismiss") clearResult();
    else if (action === "close-sheet") closeSheet();
    else if (action === "remeasure") {
      const url = target.dataset.url;
      clearResult();
      askTemperature((temp) => post(url, { temperature: temp, request_id: newId() }));
    } else if (action === "manual") {
      const fields = { resident_id: target.dataset.residentId, direction: direction, request_id: newId() };
      closeSheet();
      if (direction === "in" && temperatureRequired) {
        askTemperature((temp) => post(target.dataset.url, Object.assign(fields, { temperature: temp })));
      } else post(target.dataset.url, fields);
    } else if (action === "keypad-ok") keypadOk();
    else if (action === "keypad-cancel") closeKeypad();
  });

  // --- sheets (no code, visitor, visitors inside) loaded by htmx into #sheet ---------------------
  function closeSheet() {
    sheet.innerHTML = "";
    refocus();
  }
  document.body.addEventListener("closePanel", closeSheet);
  sheet.addEventListener("htmx:afterSwap", () => {
    sheet.querySelectorAll("[data-request-id]").forEach((input) => (input.value = newId()));
  });
  document.body.addEventListener("htmx:sendError", () => showOffline(true));

  // --- the temperature keypad -------------------------------------------------------------------
  function askTemperature(callback) {
    keypadCallback = callback;
    keypadDisplay.textContent = "";
    keypadError.hidden = true;
    keypad.hidden = false;
    keypad.querySelector("[data-key='3']").focus();
  }
  function closeKeypad() {
    keypad.hidden = true;
    keypadCallback = null;
    refocus();
  }
  function keypadOk() {
    const value = parseFloat(keypadDisplay.textContent);
    if (!(value >= 34 && value <= 43)) {
      keypadError.hidden = false;
      return;
    }
    const callback = keypadCallback;
    closeKeypad();
    if (callback) callback(value.toFixed(1));
  }
  keypad.querySelectorAll("[data-key]").forEach((b) =>
    b.addEventListener("click", () => pressKey(b.dataset.key))
  );
  function pressKey(key) {
    let value = keypadDisplay.textContent;
    if (key === "⌫" || key === "Backspace") value = value.slice(0, -1);
    else if (key === ".") value = value.includes(".") ? value : value + ".";
    else if (/^[0-9]$/.test(key) && value.length < 5) value += key;
    keypadDisplay.textContent = value;
    keypadError.hidden = true;
  }
  document.addEventListener("keydown", (e) => {
    if (keypad.hidden) return;
    if (/^[0-9.]$/.test(e.key) || e.key === "Backspace") {
      e.preventDefault();
      pressKey(e.key);
    } else if (e.key === "Enter") {
      e.preventDefault();
      keypadOk();
    } else if (e.key === "Escape") closeKeypad();
  });

  // --- scanning ---------------------------------------------------------------------------------
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function handleCode(code, source) {
    if (!keypad.hidden) return;
    clearResult();
    closeSheet();
    // scanned_at: the moment the code was read, so a scan queued during an outage is judged by
    // when it was shown, not by when the connection came back (the server bounds it).
    const fields = { code: code, direction: direction, request_id: newId(), scanned_at: String(Date.now()) };
    const visitorCode = /^K1V:/i.test(code);
    if (direction === "in" && (temperatureRequired || visitorCode)) {
      askTemperature((temp) => post(scanUrl, Object.assign(fields, { temperature: temp })));
    } else {
      post(scanUrl, fields);
    }
  }

  // --- sending, with a queue for when the server cannot be reached -------------------------------
  function loadQueue() {
    try {
      return JSON.parse(localStorage.getItem(queueKey) || "[]");
    } catch (err) {
      return [];
    }
  }
  function saveQueue(queue) {
    localStorage.setItem(queueKey, JSON.stringify(queue));
    pendingCount.textContent = queue.length ? "(" + queue.length + ")" : "";
  }
  function showOffline(on) {
    banner.hidden = !on;
    document.body.classList.toggle("is-offline", on);
  }
  async function send(item) {
    const body = new URLSearchParams(item.fields);
    // Without a time limit a server that accepts but never answers (or a network that drops the
    // packets) would hold the queue for minutes with nothing on the screen. Sending again with
    // the same request id is safe: the server answers a repeated id with its first decision.
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timeout = controller ? setTimeout(() => controller.abort(), SEND_TIMEOUT_MS) : 0;
    try {
      const response = await fetch(item.url, {
        method: "POST",
        body: body,
        headers: { "X-CSRFToken": csrf, "HX-Request": "true" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      });
      if (response.status >= 500 || response.status === 0) throw new Error("server " + response.status);
      if (response.status === 401) {
        window.location.href = response.headers.get("HX-Redirect") || window.location.href;
        return null;
      }
      return await response.text();
    } finally {
      clearTimeout(timeout);
    }
  }
  function post(url, fields) {
    const queue = loadQueue();
    queue.push({ url: url, fields: fields, queuedAt: Date.now() });
    saveQueue(queue);
    flush(true);
  }
  async function flush(fromUser) {
    if (sending) {
      // An earlier scan is still on its way; this one is sent after it. Until then the guard
      // sees that it is waiting (the screen was cleared for it), not an empty screen.
      if (fromUser) showPending();
      return;
    }
    sending = true;
    clearTimeout(retryTimer);
    const slowTimer = fromUser ? setTimeout(showPending, SLOW_MS) : 0;
    let queue = loadQueue();
    try {
      while (queue.length) {
        const item = queue[0];
        let html;
        try {
          html = await send(item);
        } catch (err) {
          showOffline(true);
          if (fromUser) showPending();
          retryTimer = setTimeout(() => flush(false), 3000);
          return;
        }
        queue = loadQueue().filter((q) => q.fields.request_id !== item.fields.request_id);
        saveQueue(queue);
        showOffline(false);
        if (html !== null && !queue.length) {
          clearTimeout(slowTimer);
          showResult(asResult(html));
          if (!fromUser) markDelivered();
        }
      }
    } finally {
      clearTimeout(slowTimer);
      sending = false;
    }
  }
  // An answer that is not a gate fragment (an error page: the session was lost, too many
  // requests...) is shown as "not decided" with its message, never injected whole into the
  // overlay, where it would cover the page and stay.
  function asResult(html) {
    if (/\bdata-decision=/.test(html)) return html;
    const doc = new DOMParser().parseFromString(html, "text/html");
    const found = doc.querySelector("main [role=alert], main .error");
    const box = document.createElement("div");
    box.className = "result result-problem";
    box.dataset.decision = "problem";
    box.setAttribute("role", "alert");
    box.innerHTML =
      '<div class="verdict">' + text("msg-not-decided") + '</div><p class="reasons"></p>' +
      '<button type="button" class="button big" data-action="dismiss">' + (text("msg-ok") || "OK") +
      "</button>";
    box.querySelector(".reasons").textContent = found ? found.textContent.trim() : "";
    return box.outerHTML;
  }
  function showPending() {
    clearTimeout(clearTimer);
    resultBox.innerHTML =
      '<div class="result result-pending" data-decision="pending" role="alert">' +
      '<div class="verdict">…</div><p class="reasons">' + text("msg-pending") + "</p>" +
      '<button type="button" class="button dismiss" data-action="dismiss">' + (text("msg-ok") || "OK") +
      "</button></div>";
  }
  function markDelivered() {
    const result = resultBox.querySelector("[data-decision]");
    if (result) {
      const note = document.createElement("p");
      note.className = "delivered";
      note.textContent = text("msg-delivered");
      result.prepend(note);
    }
  }
  window.addEventListener("online", () => flush(false));
  if (loadQueue().length) {
    saveQueue(loadQueue());
    flush(false);
  }

  window.kioskGate = {
    handleCode: handleCode,
    isBusy: busy,
    pending: () => loadQueue().length,
  };
  refocus();
})();
