/* Progress of a resident import (templates/admin/import.html).

   The element with data-import-url and data-status "queued" or "running" is polled every
   2 seconds while the page is visible; its bar and figures follow. When the import is done or
   failed the page reloads so the server shows the result. Without this script the page shows the
   state it was rendered with (and a link to look again). */
(function () {
  "use strict";

  var WAITING = {queued: true, running: true};
  var element = document.querySelector("[data-import-url][data-status]");
  if (!window.fetch || !element || !WAITING[element.getAttribute("data-status")]) return;

  var busy = false;

  function poll() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(element.getAttribute("data-import-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        busy = false;
        if (!state) return;
        var bar = element.querySelector("progress");
        var figures = element.querySelector("[data-import-figures]");
        var label = element.querySelector("[data-import-label]");
        if (bar) {
          bar.value = state.progress;
          bar.setAttribute("aria-valuetext", state.progress + "%");
        }
        if (figures) figures.textContent = state.processed + " / " + state.good_rows;
        if (label) label.textContent = state.status_label;
        if (!WAITING[state.status]) window.location.reload();
      })
      .catch(function () { busy = false; });
  }

  window.setInterval(poll, 2000);
})();
