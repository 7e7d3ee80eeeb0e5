/* Transcoding progress on the course editor (templates/courses/course_form.html).

   Every element with data-media-id and data-status "queued" or "processing" is polled
   (GET data-media-url, the API's MediaOut) every 3 seconds while the page is visible; its
   bar, percentage and label follow. When one becomes ready or failed the page reloads, so the
   server shows the duration, or the reason and the retry button. Without this script the page
   simply shows the state it was rendered with. */
(function () {
  "use strict";

  var INTERVAL_MS = 3000;
  var WAITING = {queued: true, processing: true};

  function waiting() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-media-id][data-status]"), function (element) {
      return WAITING[element.getAttribute("data-status")];
    });
  }

  if (!window.fetch || !waiting().length) return;

  function update(element, media) {
    var bar = element.querySelector("[data-media-bar]");
    var percent = element.querySelector("[data-media-percent]");
    var label = element.querySelector("[data-media-label]");
    var value = Math.max(0, Math.min(100, Math.round(media.progress || 0)));
    if (bar) {
      bar.value = value;
      bar.setAttribute("aria-valuetext", value + "%");
    }
    if (percent) percent.textContent = value + "%";
    if (label && media.status_label) label.textContent = media.status_label;
    element.setAttribute("data-status", media.status);
  }

  var reloading = false;
  var busy = false;

  function poll() {
    if (busy || reloading || document.hidden) return;
    var elements = waiting();
    if (!elements.length) return;
    busy = true;
    Promise.all(elements.map(function (element) {
      var url = element.getAttribute("data-media-url");
      return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}, cache: "no-store"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (media) {
          if (!media) return false;
          update(element, media);
          return !WAITING[media.status];
        })
        .catch(function () { return false; });  // offline for a moment: try again next time
    })).then(function (finished) {
      busy = false;
      if (finished.some(Boolean)) {
        reloading = true;
        window.location.reload();
      }
    });
  }

  window.setInterval(poll, INTERVAL_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) poll();
  });
})();
