/* Small progressive enhancements; every page works without this file.
   - forms (or their buttons) with data-confirm ask before submitting;
   - a submitted form's buttons are disabled so a double tap does not post twice. */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }
    if (form.method.toLowerCase() !== "post") return;
    // Disable after the browser has collected the form data, so the submitter still counts.
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (button) {
        button.disabled = true;
      });
    }, 0);
  });

  // Coming back with the Back button restores the page from cache: enable the buttons again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("button[disabled]").forEach(function (button) {
      button.disabled = false;
    });
  });
})();
