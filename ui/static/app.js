// smseal ui: a little help for forms; everything works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A long upload or a key unlock takes a moment: a second click does not send the form twice.
  // (Buttons are not disabled: a disabled submitter would drop its name=value, e.g. as_draft.)
  document.querySelectorAll("form.busy").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sending) { event.preventDefault(); return; }
      form.dataset.sending = "1";
      form.classList.add("sending");
    });
  });
  // The main recipient cannot also be a copy recipient: hide that checkbox.
  var to = document.querySelector("select[name=to]");
  if (to) {
    var sync = function () {
      document.querySelectorAll("input[name=cc]").forEach(function (cb) {
        var same = cb.value === to.value;
        if (same) { cb.checked = false; }
        cb.disabled = same;
      });
    };
    to.addEventListener("change", sync);
    sync();
  }
});
