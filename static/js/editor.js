/* The lesson editor's toolbar (templates/courses/lesson_form.html): bold, heading, list, link
   and picture for the body's textarea, which holds the lesson as simple HTML (the server keeps
   only the safe tags: lms/courses/content.py). Without this script the toolbar stays hidden and
   the text is typed as it is (blank lines make paragraphs).

   Text typed without any tags is first turned into paragraphs the way the server would, so a
   formatted word does not run the paragraphs together. A picture is uploaded at once
   (POST /api/v1/courses/<id>/pictures: checked, shrunk and stored by the server) and put at the
   cursor with its description selected, ready to be typed over. */
(function () {
  "use strict";

  var toolbar = document.querySelector("[data-editor]");
  if (!toolbar || !window.fetch || !window.FormData) return;
  var area = document.getElementById(toolbar.getAttribute("data-editor"));
  if (!area) return;
  var status = document.querySelector("[data-editor-status]");
  var linkBox = document.querySelector("[data-editor-link]");
  var linkInput = linkBox && linkBox.querySelector("input");
  var msg = toolbar.dataset;
  var START = "\u0001";
  var END = "\u0002";

  // Just above the textarea, under its label.
  area.parentNode.insertBefore(toolbar, area);
  if (linkBox) area.parentNode.insertBefore(linkBox, area);
  if (status) area.parentNode.insertBefore(status, area);
  toolbar.hidden = false;

  function say(text, isError) {
    if (!status) return;
    status.textContent = text || "";
    status.classList.toggle("editor-status--error", !!isError);
  }

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  // Plain text → paragraphs (as content.sanitise_html does), keeping the selection.
  function ensureHtml() {
    if (/<[a-zA-Z\/!]/.test(area.value)) return;
    var value = area.value.replace(/\r\n/g, "\n");
    var marked = value.slice(0, area.selectionStart) + START +
      value.slice(area.selectionStart, area.selectionEnd) + END + value.slice(area.selectionEnd);
    var html = marked.split(/\n\s*\n/).map(function (part) { return part.trim(); })
      .filter(function (part) { return part && part !== START + END; })
      .map(function (part) { return "<p>" + escapeHtml(part).replace(/\n/g, "<br>") + "</p>"; })
      .join("\n");
    if (html.indexOf(START) < 0) html += "\n" + START + END;
    var start = html.indexOf(START);
    html = html.replace(START, "");
    var end = html.indexOf(END);
    area.value = html.replace(END, "");
    area.setSelectionRange(start, end);
    remember();
  }

  // Replace the selection with before + (selection or placeholder) + after; select the inside.
  // A block (heading, list) that takes a whole paragraph replaces the paragraph's own tags.
  function wrap(before, after, placeholder, transform, block) {
    ensureHtml();
    var start = area.selectionStart;
    var end = area.selectionEnd;
    var inner = area.value.slice(start, end) || placeholder;
    if (block && area.value.slice(start - 3, start) === "<p>" && area.value.slice(end, end + 4) === "</p>") {
      start -= 3;
      end += 4;
    }
    if (transform) inner = transform(inner);
    area.setRangeText(before + inner + after, start, end, "end");
    area.setSelectionRange(start + before.length, start + before.length + inner.length);
    area.focus();
    remember();
    area.dispatchEvent(new Event("input", {bubbles: true}));
  }

  function listOf(text) {
    var items = text.split(/<br\s*\/?>|\n/).map(function (line) { return line.trim(); })
      .filter(Boolean);
    return items.map(function (item) { return "<li>" + item + "</li>"; }).join("\n");
  }

  var actions = {
    bold: function () { wrap("<strong>", "</strong>", area.dataset.placeholderBold || "…"); },
    heading: function () { wrap("<h2>", "</h2>", "…", null, true); },
    list: function () { wrap("<ul>\n", "\n</ul>", "…", listOf, true); },
    link: function () {
      if (!linkBox) return;
      linkBox.hidden = !linkBox.hidden;
      if (!linkBox.hidden) linkInput.focus();
    }
  };

  toolbar.addEventListener("click", function (event) {
    var button = event.target.closest("[data-format]");
    if (!button) return;
    say("");
    actions[button.getAttribute("data-format")]();
  });

  // Remember where the cursor was before the focus moved to the toolbar or the link box.
  var saved = [area.value.length, area.value.length];
  function remember() { saved = [area.selectionStart, area.selectionEnd]; }
  ["blur", "select", "keyup", "mouseup", "input"].forEach(function (name) {
    area.addEventListener(name, remember);
  });
  function restore() { area.setSelectionRange(saved[0], saved[1]); }

  if (linkBox) {
    linkBox.querySelector("[data-link-insert]").addEventListener("click", function () {
      var url = linkInput.value.trim();
      if (!/^https?:\/\/[^\s"<>]+$/i.test(url)) {
        say(linkInput.validationMessage || msg.msgLink, true);
        linkInput.focus();
        return;
      }
      restore();
      wrap('<a href="' + escapeHtml(url) + '">', "</a>", escapeHtml(url));
      linkInput.value = "";
      linkBox.hidden = true;
    });
  }

  var picture = toolbar.querySelector("[data-picture-input]");
  picture.addEventListener("change", function () {
    var file = picture.files && picture.files[0];
    if (!file) return;
    var meta = document.querySelector("meta[name=csrf-token]");
    var body = new FormData();
    body.append("picture", file);
    say(msg.msgUploading);
    fetch(msg.pictureUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": meta ? meta.getAttribute("content") : ""}
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; },
        function () { return {ok: false, data: null}; });
    }).then(function (result) {
      picture.value = "";
      if (!result.ok) {
        say(result.data && result.data.error ? result.data.error.message : msg.msgFailed, true);
        return;
      }
      restore();
      ensureHtml();
      var at = area.selectionEnd;
      var before = '<img src="' + escapeHtml(result.data.url) + '" width="' + result.data.width +
        '" height="' + result.data.height + '" alt="';
      var description = file.name.replace(/\.[^.]*$/, "");
      area.setRangeText("\n" + before + escapeHtml(description) + '">\n', at, at, "end");
      area.focus();
      area.setSelectionRange(at + 1 + before.length, at + 1 + before.length + escapeHtml(description).length);
      remember();
      say(msg.msgUploaded);
    }, function () {
      picture.value = "";
      say(msg.msgFailed, true);
    });
  });
})();
