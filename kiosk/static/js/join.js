// Joining (join/code.html): the slip's QR opens /join#CODE. A browser never sends the part
// after "#", so the code is in no server log; this fills it into the form and takes it out of
// the address bar and the history at once.
document.addEventListener("DOMContentLoaded", () => {
  const hash = window.location.hash.slice(1);
  if (!hash) return;
  const code = decodeURIComponent(hash).replace(/[^A-Za-z0-9]/g, "").slice(0, 20);
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  const field = document.querySelector("[data-join-code]");
  if (field && code) {
    field.value = code;
    const form = field.form;
    if (form && form.dataset.autosubmit !== undefined) form.requestSubmit();
  }
});
