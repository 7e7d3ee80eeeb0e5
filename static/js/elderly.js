/* 长辈模式 (elderly mode) in place, and reading a lesson's text aloud.

   The header's 长辈模式 buttons are a form that posts to /preferences/elderly and comes back to
   the same page (without this script). With it, a tap submits nothing: the class on <html>
   changes at once, the cookie remembers the choice on this phone, and the choice is posted in
   the background (so the account remembers it too). Whatever was typed into the page stays.

   Read aloud: buttons marked data-read-aloud speak the text of the element their
   data-read-aloud names, with the browser's speech synthesis (Web Speech API). Where the
   browser has none, the buttons stay hidden. */
(function () {
  "use strict";

  var SIZES = [20, 22, 24, 26, 28, 30];
  var DEFAULT_PX = 22;
  var COOKIE = "lms_elderly";
  var root = document.documentElement;

  function currentPx() {
    if (!root.classList.contains("elderly")) return 0;
    for (var i = 0; i < SIZES.length; i++) {
      if (root.classList.contains("text-" + SIZES[i])) return SIZES[i];
    }
    return DEFAULT_PX;
  }

  function nextPx(current, mode) {
    if (mode === "on") return current || DEFAULT_PX;
    if (mode === "off") return 0;
    if (!current) return DEFAULT_PX;
    var index = SIZES.indexOf(current) + (mode === "bigger" ? 1 : -1);
    return SIZES[Math.min(Math.max(index, 0), SIZES.length - 1)];
  }

  function show(px) {
    SIZES.forEach(function (size) { root.classList.remove("text-" + size); });
    root.classList.toggle("elderly", px > 0);
    if (px) root.classList.add("text-" + px);
    document.querySelectorAll("[data-elderly-toggle]").forEach(function (button) {
      button.value = px ? "off" : "on";
    });
  }

  function remember(px) {
    var secure = window.location.protocol === "https:" ? "; secure" : "";
    document.cookie = COOKIE + "=" + px + "; path=/; max-age=31536000; samesite=lax" + secure;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-elderly-form] button[name=mode]");
    if (!button || !window.fetch || !window.FormData) return;
    event.preventDefault();
    var form = button.form;
    var mode = button.value;
    var px = nextPx(currentPx(), mode);
    show(px);
    remember(px);
    var body = new FormData(form);
    body.set("mode", mode);
    body.set("text_px", String(px));   // the cookie has changed already: say the size itself
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).catch(function () { /* offline: the cookie keeps the choice on this phone */ });
  });

  // --- read aloud ---------------------------------------------------------------------------

  var speech = window.speechSynthesis;
  var readers = document.querySelectorAll("[data-read-aloud]");
  if (!readers.length || !speech || !window.SpeechSynthesisUtterance) return;

  function stop() {
    speech.cancel();
    document.querySelectorAll("[data-read-stop]").forEach(function (b) { b.hidden = true; });
  }

  readers.forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-read-aloud"));
    var stopButton = document.querySelector("[data-read-stop='" + button.getAttribute("data-read-aloud") + "']");
    if (!target) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      stop();
      var utterance = new window.SpeechSynthesisUtterance(target.innerText || target.textContent);
      utterance.lang = root.lang || "zh-CN";
      utterance.rate = 0.9;
      utterance.onend = function () { if (stopButton) stopButton.hidden = true; };
      if (stopButton) stopButton.hidden = false;
      speech.speak(utterance);
    });
    if (stopButton) stopButton.addEventListener("click", stop);
  });
  window.addEventListener("pagehide", stop);
})();
