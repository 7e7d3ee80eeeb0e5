/* The reading-time countdown of a text or document lesson (templates/learning/lesson.html).

   The server decides when the lesson may be marked learnt and renders the time left; this only
   counts it down on the page. Without this script the rendered text stays, and marking too
   early answers with how long is left. */
(function () {
  "use strict";

  var box = document.querySelector("[data-reading-remaining]");
  if (!box) return;
  var ends = Date.now() + Number(box.getAttribute("data-reading-remaining")) * 1000;
  var template = box.getAttribute("data-msg-remaining") || "";

  function show() {
    var left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
    if (left === 0) {
      box.textContent = box.getAttribute("data-msg-ready") || "";
      window.clearInterval(timer);
      return;
    }
    box.textContent = template.replace("{minutes}", Math.floor(left / 60)).replace("{seconds}", left % 60);
  }

  var timer = window.setInterval(show, 1000);
  show();
})();
