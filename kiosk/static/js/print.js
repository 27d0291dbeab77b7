// The paper-pass print page (office/print_passes.html): its Print and Back buttons. They are
// hidden until this runs, so a page without JavaScript shows no button that does nothing.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
    button.hidden = false;
  }
  if (window.history.length > 1) {
    for (const button of document.querySelectorAll("[data-back]")) {
      button.addEventListener("click", () => window.history.back());
      button.hidden = false;
    }
  }
});
