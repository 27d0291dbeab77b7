// Upload progress for htmx forms marked data-upload-progress (the office's file import).
//
// htmx fires htmx:xhr:progress on the form while the file is sent: the <progress data-progress>
// inside the form follows it, and the status line says what is happening (the words come from
// the form's data-uploading / data-working / data-too-large / data-failed attributes, translated
// by the page). A file over data-max-bytes is refused before it is sent. The form's buttons are
// disabled while a request runs, so an import cannot be sent twice.
// No inline script or style anywhere: the Content-Security-Policy forbids both.
(function () {
  "use strict";

  function formOf(evt) {
    var elt = evt.detail && evt.detail.elt ? evt.detail.elt : evt.target;
    return elt && elt.closest ? elt.closest("form[data-upload-progress]") : null;
  }

  function parts(form) {
    return {
      bar: form.querySelector("progress[data-progress]"),
      status: form.querySelector("[data-progress-status]"),
      buttons: form.querySelectorAll("button"),
    };
  }

  function say(form, text) {
    var status = parts(form).status;
    if (status) status.textContent = text || "";
  }

  function setBusy(form, busy) {
    parts(form).buttons.forEach(function (button) {
      button.disabled = busy;
    });
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = formOf(evt);
    if (!form) return;
    var input = form.querySelector("input[type=file]");
    var limit = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    var file = input && input.files && input.files[0];
    if (file && limit && file.size > limit) {
      evt.preventDefault();
      say(form, form.getAttribute("data-too-large"));
      return;
    }
    var bar = parts(form).bar;
    if (bar) {
      bar.value = 0;
      bar.hidden = false;
    }
    say(form, form.getAttribute("data-uploading"));
    // Disabled after htmx has read the form's values (a disabled button is not sent).
    window.setTimeout(function () {
      setBusy(form, true);
    }, 0);
  });

  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = formOf(evt);
    if (!form || !evt.detail || !evt.detail.lengthComputable || !evt.detail.total) return;
    var bar = parts(form).bar;
    var percent = Math.round((evt.detail.loaded / evt.detail.total) * 100);
    if (bar) bar.value = percent;
    if (percent >= 100) say(form, form.getAttribute("data-working"));
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = formOf(evt);
    if (!form) return;
    setBusy(form, false);
    var bar = parts(form).bar;
    if (bar) bar.hidden = true;
    say(form, evt.detail && evt.detail.successful ? "" : form.getAttribute("data-failed"));
  });
})();
