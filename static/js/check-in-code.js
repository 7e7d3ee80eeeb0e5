/* The rotating check-in code on the organiser's phone or projector (templates/activities/code.html).

   The image at data-src is the code of the current 15-second step; it is fetched again just
   after each step ends (data-seconds-left says when the first one does), and a countdown shows
   the seconds left. Without this script the page reloads itself (a <noscript> refresh). */
(function () {
  "use strict";

  var image = document.getElementById("check-in-code");
  if (!image) return;
  var countdown = document.getElementById("check-in-countdown");
  var step = parseInt(image.getAttribute("data-step-seconds"), 10) || 15;
  // One second past the boundary, so the server is surely in the new step.
  var left = (parseInt(image.getAttribute("data-seconds-left"), 10) || step) + 1;
  var base = image.getAttribute("src").split("?")[0];

  function tick() {
    left -= 1;
    if (left <= 0) {
      image.setAttribute("src", base + "?t=" + Date.now());
      left = step;
    }
    if (countdown) countdown.textContent = left + " s";
  }

  image.addEventListener("error", function () {
    // Outside the window (or signed out): the page says why.
    window.location.reload();
  });
  if (countdown) countdown.textContent = left + " s";
  window.setInterval(tick, 1000);
}());
