// The invitation's share link: "Copy the link" puts it on the clipboard (me/_invitations.html).
// Loaded once; the panel is swapped by htmx, so the click is handled on the document.
(function () {
  "use strict";

  function copied(button) {
    var original = button.textContent;
    button.textContent = button.getAttribute("data-copied") || original;
    window.setTimeout(function () { button.textContent = original; }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { copied(button); }, function () {
        document.execCommand("copy");
        copied(button);
      });
    } else {
      // Old in-app browsers and plain http: the selection is copied the old way.
      document.execCommand("copy");
      copied(button);
    }
  });
})();
