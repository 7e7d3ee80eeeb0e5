/* Resumable, chunked upload of a lesson video (templates/media/video_lesson_form.html).

   Without this script the form posts the whole file in one request. With it, submitting the
   form with a file chosen:
   1. asks the API for an upload (POST /api/v1/uploads {filename, size}), or resumes the one
      remembered in localStorage for the same file (name, size, last modified), at the offset
      the server reports (GET upload_url);
   2. sends the file in chunks (PATCH upload_url, header Upload-Offset), showing the progress;
      a network error or a server error is retried with growing pauses after asking the server
      where it stands; a 409 (wrong offset) continues from the offset the server gives;
   3. finishes (POST upload_url/complete): the server probes the video and queues transcoding;
      a refused file's reason is shown beside the file field;
   4. puts the media id into the hidden media_id field, empties the file field and submits the
      form, so the page creates the lesson as usual. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-uploader]");
  if (!form || !window.fetch || !window.Blob || !Blob.prototype.slice) return;

  var fileInput = form.querySelector("input[type=file][name=file]");
  var mediaInput = form.querySelector("input[name=media_id]");
  var box = form.querySelector("[data-upload-progress]");
  var bar = form.querySelector("[data-upload-bar]");
  var figures = form.querySelector("[data-upload-figures]");
  var text = form.querySelector("[data-upload-text]");
  var cancelButton = form.querySelector("[data-upload-cancel]");
  var submitButton = form.querySelector("[data-upload-submit]");
  if (!fileInput || !mediaInput || !box) return;

  var uploadsUrl = form.getAttribute("data-uploads-url");
  var maxBytes = Number(form.getAttribute("data-max-bytes")) || Infinity;
  var MB = 1024 * 1024;
  var MAX_ATTEMPTS = 12;       // failures in a row before giving up (about 5 minutes)
  var STORE_PREFIX = "lms-upload:";

  var current = null;          // the upload in progress: {url, key, xhr, cancelled}

  function message(name, values) {
    var template = form.getAttribute("data-msg-" + name) || "";
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return values && key in values ? String(values[key]) : whole;
    });
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    if (meta) return meta.getAttribute("content");
    var field = form.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function megabytes(bytes) {
    return (bytes / MB).toFixed(bytes < 10 * MB ? 2 : 1);
  }

  function storeKey(file) {
    return STORE_PREFIX + [file.name, file.size, file.lastModified].join("|");
  }

  function remember(key, value) {
    try {
      if (value) window.localStorage.setItem(key, JSON.stringify(value));
      else window.localStorage.removeItem(key);
    } catch (error) { /* private mode: uploads simply do not resume after a reload */ }
  }

  function recall(key) {
    try {
      return JSON.parse(window.localStorage.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  // --- what the teacher sees ----------------------------------------------------------------

  var lastFigures = 0;

  // The line under the figures: what is happening (preparing, retrying, checking …).
  function say(line) {
    text.textContent = line;
  }

  function showProgress(sent, total, force) {
    var percent = total ? Math.floor((sent / total) * 100) : 0;
    bar.value = percent;
    bar.setAttribute("aria-valuetext", percent + "%");
    // The figures are a live region: refresh them at most every 1.5 s so that screen readers
    // are not flooded (the bar itself moves continuously).
    if (figures && (force || Date.now() - lastFigures > 1500)) {
      figures.textContent = message("progress", {percent: percent, done: megabytes(sent), total: megabytes(total)});
      lastFigures = Date.now();
    }
  }

  function setBusy(busy) {
    box.hidden = false;
    cancelButton.hidden = !busy;
    fileInput.disabled = busy;
    if (submitButton) {
      // site.js disables submit buttons right after a submit; undo that when we stop.
      window.setTimeout(function () { submitButton.disabled = busy; }, 0);
    }
  }

  function fieldOf(input) {
    return input.closest(".field") || input.parentNode;
  }

  function clearError() {
    var field = fieldOf(fileInput);
    var list = field.querySelector("[data-upload-error]");
    if (list) list.remove();
    field.classList.remove("field--invalid");
    fileInput.removeAttribute("aria-invalid");
    var described = (fileInput.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== "file-upload-error";
    });
    if (described.length) fileInput.setAttribute("aria-describedby", described.join(" "));
    else fileInput.removeAttribute("aria-describedby");
  }

  function showError(line) {
    clearError();
    var field = fieldOf(fileInput);
    var list = document.createElement("ul");
    list.className = "field__errors";
    list.id = "file-upload-error";
    list.setAttribute("role", "alert");
    list.setAttribute("data-upload-error", "");
    var item = document.createElement("li");
    item.textContent = line;
    list.appendChild(item);
    field.appendChild(list);
    field.classList.add("field--invalid");
    fileInput.setAttribute("aria-invalid", "true");
    var described = fileInput.getAttribute("aria-describedby");
    fileInput.setAttribute("aria-describedby", (described ? described + " " : "") + list.id);
  }

  // --- talking to the API ---------------------------------------------------------------------

  function Stop(line) { this.message = line; }           // give up with this message
  function Cancelled() {}

  function headers(extra) {
    var all = {"X-CSRFToken": csrfToken(), "Accept": "application/json"};
    for (var name in extra) all[name] = extra[name];
    return all;
  }

  async function errorMessage(response) {
    try {
      var body = await response.json();
      if (body && body.error) {
        var fields = body.error.fields || {};
        var first = (fields.file || fields.size || [])[0];
        return first || body.error.message;
      }
    } catch (error) { /* not JSON */ }
    return message("failed");
  }

  function wait(seconds) {
    return new Promise(function (resolve) { window.setTimeout(resolve, seconds * 1000); });
  }

  async function start(file, key) {
    var response = await fetch(uploadsUrl, {
      method: "POST", credentials: "same-origin",
      headers: headers({"Content-Type": "application/json"}),
      body: JSON.stringify({filename: file.name, size: file.size})
    });
    if (!response.ok) {
      if (response.status >= 500) throw new Error("server " + response.status);
      throw new Stop(await errorMessage(response));
    }
    var upload = await response.json();
    remember(key, {upload_id: upload.upload_id, upload_url: upload.upload_url});
    return upload;
  }

  // Where the server stands: {offset, chunk_size, …}, or null when the upload is gone.
  async function status(url) {
    var response = await fetch(url, {credentials: "same-origin", headers: headers({}), cache: "no-store"});
    if (response.status === 404) return null;
    if (!response.ok) {
      if (response.status >= 500 || response.status === 429) throw new Error("server " + response.status);
      throw new Stop(await errorMessage(response));
    }
    return response.json();
  }

  // One chunk by XMLHttpRequest, for its upload progress events (fetch has none). Resolves
  // with {status, body}; rejects on a network error.
  function sendChunk(url, file, offset, size, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      current.xhr = xhr;
      xhr.open("PATCH", url);
      var all = headers({"Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream"});
      for (var name in all) xhr.setRequestHeader(name, all[name]);
      xhr.upload.onprogress = function (event) { onProgress(event.loaded); };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (error) { /* not JSON */ }
        resolve({status: xhr.status, body: body, text: xhr.responseText});
      };
      xhr.onerror = xhr.ontimeout = function () { reject(new Error("network")); };
      xhr.onabort = function () { reject(new Cancelled()); };
      xhr.send(file.slice(offset, Math.min(offset + size, file.size)));
    });
  }

  function messageOf(body) {
    return body && body.error ? ((body.error.fields && body.error.fields.size) || [body.error.message])[0] : null;
  }

  async function send(file) {
    var key = storeKey(file);
    var upload = null;
    var saved = recall(key);
    var failures = 0;

    say(message("preparing"));
    showProgress(0, file.size, true);
    current = {url: null, key: key, xhr: null, cancelled: false};

    // Open the upload (or find the remembered one), retrying network trouble.
    while (!upload) {
      if (current.cancelled) throw new Cancelled();
      try {
        if (saved) {
          upload = await status(saved.upload_url);
          if (upload) {
            upload.upload_url = upload.upload_url || saved.upload_url;
            current.url = upload.upload_url;
            if (upload.offset > 0) say(message("resumed", {done: megabytes(upload.offset)}));
          } else {
            remember(key, null);  // expired or finished: start afresh
            saved = null;
          }
        } else {
          upload = await start(file, key);
          current.url = upload.upload_url;
        }
      } catch (error) {
        if (error instanceof Stop || error instanceof Cancelled) throw error;
        failures = await backOff(failures);
      }
    }

    var offset = upload.offset;
    if (!offset) say("");
    var chunk = Math.max(64 * 1024, upload.chunk_size || 8 * MB);
    if (offset > 0) bar.value = Math.floor((offset / file.size) * 100);

    for (;;) {  // send what is missing, then finish; again if the server still misses bytes
      while (offset < file.size) {
        if (current.cancelled) throw new Cancelled();
        var result;
        try {
          var base = offset;
          result = await sendChunk(current.url, file, offset, chunk, function (loaded) {
            showProgress(Math.min(file.size, base + loaded), file.size, false);
          });
        } catch (error) {
          if (error instanceof Cancelled) throw error;
          failures = await backOff(failures);
          offset = await resync(file, key);
          continue;
        }
        if (result.status >= 200 && result.status < 300 && result.body) {
          offset = result.body.offset;
          if (failures) say("");  // moving again: the retry notice has done its job
          failures = 0;
          showProgress(offset, file.size, true);
        } else if (result.status === 409) {
          offset = await resync(file, key);
        } else if (result.status === 404) {
          remember(key, null);
          throw new Stop(message("expired"));
        } else if (result.status >= 500 || result.status === 429 || result.status === 0) {
          failures = await backOff(failures);
          offset = await resync(file, key);
        } else {
          throw new Stop(messageOf(result.body) || message("failed"));
        }
      }

      // All bytes are there: the server probes the file and queues it for transcoding.
      bar.removeAttribute("value");  // indeterminate while the server checks the video
      say(message("checking"));
      while (true) {
        if (current.cancelled) throw new Cancelled();
        var response;
        try {
          response = await fetch(current.url + "/complete", {
            method: "POST", credentials: "same-origin", headers: headers({})
          });
        } catch (error) {
          failures = await backOff(failures);
          continue;
        }
        if (response.ok) {
          remember(key, null);
          return (await response.json()).media;
        }
        if (response.status >= 500 || response.status === 429) {
          failures = await backOff(failures);
          continue;
        }
        if (response.status === 409) break;  // bytes are missing after all: send them
        remember(key, null);  // a refused file's upload is gone on the server too
        throw new Stop(await errorMessage(response));
      }
      offset = await resync(file, key);
    }
  }

  // After trouble: ask the server how many bytes it has (retrying network trouble).
  async function resync(file, key) {
    var failures = 0;
    while (true) {
      if (current.cancelled) throw new Cancelled();
      try {
        var upload = await status(current.url);
        if (!upload) {
          remember(key, null);
          throw new Stop(message("expired"));
        }
        showProgress(upload.offset, file.size, true);
        return upload.offset;
      } catch (error) {
        if (error instanceof Stop || error instanceof Cancelled) throw error;
        failures = await backOff(failures);
      }
    }
  }

  // Wait 2, 4, 8 … (at most 30) seconds, counting down; give up after MAX_ATTEMPTS failures.
  async function backOff(failures) {
    failures += 1;
    if (failures > MAX_ATTEMPTS) throw new Stop(message("failed"));
    var seconds = Math.min(30, Math.pow(2, failures));
    for (var left = seconds; left > 0; left--) {
      if (current.cancelled) throw new Cancelled();
      say(message("retry", {seconds: left}));
      await wait(1);
    }
    return failures;
  }

  // --- the form -------------------------------------------------------------------------------

  function leaving(event) {
    event.preventDefault();
    event.returnValue = "";
  }

  form.addEventListener("submit", function (event) {
    if (current) {               // already uploading: a second tap does nothing
      event.preventDefault();
      return;
    }
    var file = fileInput.files && fileInput.files[0];
    if (!file) return;           // nothing chosen (or already uploaded): a normal submit
    event.preventDefault();
    clearError();
    if (file.size > maxBytes) {
      showError(message("too-big"));
      return;
    }
    setBusy(true);
    window.addEventListener("beforeunload", leaving);
    send(file).then(function (media) {
      window.removeEventListener("beforeunload", leaving);
      bar.value = 100;
      say(message("saving"));
      cancelButton.hidden = true;
      mediaInput.value = String(media.id);
      fileInput.disabled = false;
      fileInput.value = "";
      current = null;
      form.submit();             // the page creates the lesson with media_id
    }, function (error) {
      var upload = current;
      window.removeEventListener("beforeunload", leaving);
      current = null;
      setBusy(false);
      if (error instanceof Cancelled) {
        // Drop what was sent; the server also drops stale uploads on its own.
        remember(upload.key, null);
        if (upload.url) {
          fetch(upload.url, {method: "DELETE", credentials: "same-origin", headers: headers({})})
            .catch(function () {});
        }
        bar.value = 0;
        say(message("cancelled"));
        return;
      }
      var line = error instanceof Stop ? error.message : message("failed");
      say(line);
      showError(line);
      fileInput.focus();
    });
  });

  cancelButton.addEventListener("click", function () {
    if (!current) return;
    var confirmText = message("cancel-confirm");
    if (confirmText && !window.confirm(confirmText)) return;
    current.cancelled = true;
    cancelButton.hidden = true;
    say(message("cancelled"));
    if (current.xhr) current.xhr.abort();  // the upload stops at once; see the submit handler
  });

  // Choosing another file means the earlier uploaded video is not wanted any more.
  fileInput.addEventListener("change", function () {
    clearError();
    if (fileInput.files && fileInput.files.length) {
      mediaInput.value = "";
      var note = form.querySelector("[data-uploaded-note]");
      if (note) note.hidden = true;
    }
  });
})();
