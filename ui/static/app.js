// smseal ui: a little help for forms; everything works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A long upload or a key unlock takes a moment: disable the button so it is not sent twice.
  document.querySelectorAll("form.busy").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        b.disabled = true;
        b.dataset.label = b.textContent;
        b.textContent = "…";
      });
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
