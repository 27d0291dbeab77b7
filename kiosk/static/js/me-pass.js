// My pass (me/index.html): a live clock and the countdown to the next code, so a guard sees
// that the screen is live and not a screenshot. When the countdown reaches the step boundary
// the pass asks htmx for the new code ("kiosk:step", see me/_pass.html); htmx also polls.
(() => {
  let section = null;
  let deadline = 0;
  let asked = false;

  const two = (n) => String(n).padStart(2, "0");

  function tick() {
    const now = new Date();
    for (const clock of document.querySelectorAll("[data-clock]")) {
      clock.textContent = `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
    }
    const current = document.getElementById("me-pass");
    if (!current) return;
    if (current !== section) {
      // A new fragment: its countdown starts from what the server said.
      section = current;
      asked = false;
      const left = Number(current.dataset.secondsLeft);
      deadline = Number.isFinite(left) && left > 0 ? Date.now() + left * 1000 : 0;
    }
    if (!deadline) return;
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    for (const counter of current.querySelectorAll("[data-countdown]")) {
      counter.textContent = String(left);
    }
    if (left === 0 && !asked && window.htmx) {
      asked = true;
      window.htmx.trigger(current, "kiosk:step");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    window.setInterval(tick, 250);
  });
})();
