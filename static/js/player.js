/* The lesson video player (templates/learning/lesson.html).

   Nothing before play: the page shows the poster and a big play button; no media, and not
   hls.js (600 KB), is fetched until the resident presses it. Then: the browser's own HLS where
   it has it (Safari, iOS, Android and recent Chromium: canPlayType says so), else hls.js, loaded
   now, where Media Source Extensions exist (Firefox, older Chromium), else the MP4 download.
   On a slow connection (navigator.connection: 2G or 3G, or data saver on) playback starts at
   the lowest rung. Without this script the <video> plays its MP4 <source> and nothing is
   recorded.

   Resume: the position the server saved (or, when newer, the one this browser kept for the
   lesson, since a reload's last report may arrive after the new page was made) is sought once
   the metadata is in, unless it is within 5 seconds of the end.

   Progress (enrolled residents only): the first play opens a visit (POST visits-url); then a
   heartbeat every 15 s while playing and on pause, seek, end and when the page is hidden
   reports every interval played so far ([[from, to], …]) with the position and the fastest
   rate played since the previous report, at most 2× (the server's limit: faster playback is
   credited at 2×) (POST progress-url with the visit's key from visits-url in X-Visit-Key, keepalive
   so that it survives leaving the page). The server decides how
   much of that counts (law 4) and answers with the watched share, which the summary shows.
   Once playback stops, an answer that left part of the report uncounted (uncounted_s: a busy
   server credits no faster than playback as it sees the time), or no answer at all, is
   followed by another report 2, 4, … seconds later, at most 5 times. */
(function () {
  "use strict";

  var video = document.querySelector("video[data-player]");
  if (!video || !window.fetch) return;

  var HEARTBEAT_MS = 15000;
  var FIRST_HEARTBEAT_MS = 5000;
  // Stopped with part of what was played not yet counted (the server credits no faster than
  // playback as it sees the time, and a busy line delays heartbeats): report again, a few times.
  var CATCH_UP_MS = 2000;
  var CATCH_UPS = 5;
  var NEAR_END_S = 5;
  var data = video.dataset;
  var duration = Number(data.duration) || 0;
  var enrolled = data.enrolled === "true";
  var controls = document.querySelector("[data-player-controls]");
  var summary = document.querySelector("[data-player-summary]");
  var errorBox = document.querySelector("[data-player-error]");
  var qualityButtons = Array.prototype.slice.call(document.querySelectorAll("[data-quality]"));
  var rateButtons = Array.prototype.slice.call(document.querySelectorAll("[data-rate]"));
  var audioHint = document.querySelector("[data-audio-hint]");
  var startButton = document.querySelector("[data-player-start]");

  var engine = "mp4";
  if (data.hlsUrl && video.canPlayType("application/vnd.apple.mpegurl")) engine = "native";
  else if (data.hlsUrl && data.hlsScript && (window.MediaSource || window.ManagedMediaSource)) engine = "hls.js";
  else if (!data.mp4Url) return;
  video.setAttribute("data-engine", engine);

  var hls = null;
  var quality = "auto";       // "auto", a rung's index, or "audio"
  var rate = 1;
  var MAX_RATE = 2;           // the server credits no faster (lms/learning/watch.py)
  var fastest = 1;            // the fastest rate played since the previous heartbeat
  var earlier = [];           // intervals played before the current source (video.played resets)
  var seekTo = null;          // where to go when the current source's metadata is in
  var mediaErrors = 0;
  var played = false;         // has playback started on this page?
  var started = false;        // has the resident pressed play (and media been asked for)?
  var BUFFER_S = 30;

  // 2G, 3G or the data saver: start at the lowest rung (hls.js may climb if the line allows).
  function slowConnection() {
    var connection = navigator.connection;
    return !!connection && (connection.saveData === true || /(^|-)2g$|^3g$/.test(connection.effectiveType || ""));
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.getAttribute("content") : "";
  }

  // --- intervals --------------------------------------------------------------------------------

  function merge(intervals) {
    var sorted = intervals.filter(function (pair) { return pair[1] > pair[0]; })
      .sort(function (a, b) { return a[0] - b[0]; });
    var merged = [];
    sorted.forEach(function (pair) {
      var last = merged[merged.length - 1];
      if (last && pair[0] <= last[1]) last[1] = Math.max(last[1], pair[1]);
      else merged.push([pair[0], pair[1]]);
    });
    return merged;
  }

  function playedNow() {
    var ranges = [];
    for (var i = 0; i < video.played.length; i++) {
      ranges.push([video.played.start(i), video.played.end(i)]);
    }
    return ranges;
  }

  function allPlayed() {
    return merge(earlier.concat(playedNow())).map(function (pair) {
      return [Math.round(pair[0] * 1000) / 1000, Math.round(pair[1] * 1000) / 1000];
    });
  }

  // --- where to resume --------------------------------------------------------------------------

  var resumeKey = "lms-resume:" + data.user + ":" + data.lessonId;

  function keepPosition(position) {
    if (!started || seekTo !== null) return;   // nothing played yet, or not yet where it resumes
    try {
      window.localStorage.setItem(resumeKey, JSON.stringify({p: position, t: Date.now()}));
    } catch (error) { /* private mode */ }
  }

  function startPosition() {
    var position = Number(data.resume) || 0;
    try {
      var kept = JSON.parse(window.localStorage.getItem(resumeKey) || "null");
      if (kept && typeof kept.p === "number" && kept.t > (Number(data.resumeAt) || 0)) position = kept.p;
    } catch (error) { /* nothing kept */ }
    var end = video.duration && isFinite(video.duration) ? video.duration : duration;
    return position > 0 && (!end || position < end - NEAR_END_S) ? position : 0;
  }

  var lastKept = 0;
  video.addEventListener("timeupdate", function () {
    if (Date.now() - lastKept > 1000 && video.currentTime > 0) {
      lastKept = Date.now();
      keepPosition(video.currentTime);
    }
  });

  // --- sources ----------------------------------------------------------------------------------

  function rungUrl(index) {
    var button = qualityButtons.filter(function (b) { return b.getAttribute("data-quality") === String(index); })[0];
    return button ? button.getAttribute("data-url") : null;
  }

  function absolute(url) {
    return new URL(url, window.location.href).href;
  }

  // The hls.js level that plays the rung with this playlist URL.
  function levelOf(index) {
    if (!hls || !hls.levels) return -1;
    var url = rungUrl(index);
    var wanted = url ? absolute(url) : null;
    for (var i = 0; i < hls.levels.length; i++) {
      var level = hls.levels[i];
      var levelUrl = level.uri || level.url;
      if (Array.isArray(levelUrl)) levelUrl = levelUrl[0];
      if (wanted && levelUrl && absolute(levelUrl) === wanted) return i;
    }
    var button = qualityButtons.filter(function (b) { return b.getAttribute("data-quality") === String(index); })[0];
    var height = button && Number(button.getAttribute("data-height"));
    for (var j = 0; j < hls.levels.length; j++) {
      if (height && Math.min(hls.levels[j].height, hls.levels[j].width) === height) return j;
    }
    return -1;
  }

  function showError() {
    if (!errorBox) return;
    errorBox.textContent = data.msgError || "";
    errorBox.hidden = false;
  }

  function fallBackToMp4(position, playing, label) {
    if (!data.mp4Url || engine === "mp4") {
      showError();
      return;
    }
    engine = "mp4";
    video.setAttribute("data-engine", label || "mp4-fallback");
    quality = "auto";
    var group = document.querySelector("[data-quality-group]");
    if (group) group.hidden = true;
    if (audioHint) audioHint.hidden = true;
    load(data.mp4Url, position, playing === undefined ? !video.paused : playing);
  }

  function startHls(url, position) {
    if (hls) hls.destroy();
    hls = new window.Hls({enableWorker: true, startPosition: position > 0 ? position : -1,
                          capLevelToPlayerSize: true, startLevel: slowConnection() ? 0 : -1,
                          maxBufferLength: BUFFER_S, maxMaxBufferLength: 600});
    hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
      // A rung chosen before the level list was known (before play, or coming back from audio).
      if (quality !== "auto" && quality !== "audio") {
        var level = levelOf(Number(quality));
        if (level >= 0) hls.currentLevel = level;
      }
    });
    hls.on(window.Hls.Events.ERROR, function (event, detail) {
      if (!detail.fatal) return;
      if (detail.type === window.Hls.ErrorTypes.MEDIA_ERROR && mediaErrors < 2) {
        mediaErrors += 1;
        hls.recoverMediaError();
      } else if (detail.type === window.Hls.ErrorTypes.NETWORK_ERROR && detail.details !== "manifestLoadError"
                 && mediaErrors < 3) {
        mediaErrors += 1;
        hls.startLoad();
      } else {
        var at = video.currentTime || position;
        hls.destroy();
        hls = null;
        fallBackToMp4(at);
      }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  }

  // Play *url* from *position* (seconds); keep playing if *playing*.
  function load(url, position, playing) {
    earlier = merge(earlier.concat(playedNow()));
    seekTo = position;
    Array.prototype.slice.call(video.querySelectorAll("source")).forEach(function (source) {
      source.remove();
    });
    if (engine === "hls.js") {
      startHls(url, position);
    } else {
      if (hls) {
        hls.destroy();
        hls = null;
      }
      video.src = url;
      video.load();
    }
    video.defaultPlaybackRate = rate;
    video.playbackRate = rate;
    if (playing) {
      var started = video.play();
      if (started && started.catch) started.catch(function () { /* needs a tap */ });
    }
  }

  video.addEventListener("loadedmetadata", function () {
    video.playbackRate = rate;
    if (seekTo !== null && seekTo > 0 && Math.abs(video.currentTime - seekTo) > 1) {
      video.currentTime = seekTo;
    }
    seekTo = null;
  });

  video.addEventListener("error", function () {
    if (engine !== "hls.js" && video.error) fallBackToMp4(video.currentTime);
  });

  // --- quality and speed ------------------------------------------------------------------------

  function press(buttons, chosen) {
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", button === chosen ? "true" : "false");
    });
  }

  // The source that plays the chosen quality with this engine.
  function sourceUrl() {
    if (quality === "audio") return data.audioUrl;
    if (engine === "mp4") return data.mp4Url;
    if (engine === "hls.js" || quality === "auto") return data.hlsUrl;
    return rungUrl(quality);
  }

  function chooseQuality(button) {
    var wanted = button.getAttribute("data-quality");
    if (wanted === quality) return;
    var position = video.currentTime;
    var playing = !video.paused && !video.ended;
    var fromAudio = quality === "audio";
    quality = wanted;
    press(qualityButtons, button);
    if (audioHint) audioHint.hidden = wanted !== "audio";
    if (!started) return;     // remembered for the first play
    if (engine === "hls.js" && hls && !fromAudio && wanted !== "audio") {
      hls.currentLevel = wanted === "auto" ? -1 : levelOf(Number(wanted));
    } else {
      load(sourceUrl(), position, playing);
    }
  }

  qualityButtons.forEach(function (button) {
    button.addEventListener("click", function () { chooseQuality(button); });
  });

  function showRate() {
    var current = video.playbackRate;
    var chosen = rateButtons.filter(function (b) { return Number(b.getAttribute("data-rate")) === current; })[0];
    press(rateButtons, chosen || null);
  }

  rateButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      rate = Number(button.getAttribute("data-rate")) || 1;
      video.defaultPlaybackRate = rate;
      video.playbackRate = rate;
      showRate();
    });
  });
  video.addEventListener("ratechange", function () {
    // The browser's own menu may change it too; a new source resets it to the default.
    if (video.playbackRate > 0) rate = video.playbackRate;
    fastest = Math.max(fastest, rate);
    showRate();
  });

  // --- progress ---------------------------------------------------------------------------------

  var visitId = null;
  var visitKey = null;
  var opening = null;         // the visit being opened
  var sending = false;
  var sendAgain = false;
  var stopped = false;        // the server said this resident cannot record progress
  var catchUps = 0;           // reports sent again since playback last stopped

  function post(url, body, keepalive, key) {
    var headers = {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken()};
    // The visit's own key lets the server answer the heartbeat without the session's machinery.
    if (key) headers["X-Visit-Key"] = key;
    return fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: !!keepalive,
      headers: headers,
      body: JSON.stringify(body)
    });
  }

  function openVisit() {
    if (visitId || opening || stopped || !enrolled) return opening || Promise.resolve(visitId);
    opening = post(data.visitsUrl, {}).then(function (response) {
      if (response.status === 403 || response.status === 401) stopped = true;
      return response.ok ? response.json() : null;
    }).then(function (body) {
      opening = null;
      visitId = body ? body.visit_id : null;
      visitKey = body ? body.visit_key : null;
      return visitId;
    }, function () {
      opening = null;   // offline: the next heartbeat tries again
      return null;
    });
    return opening;
  }

  function showProgress(body) {
    if (!summary || !body) return;
    var watched = summary.querySelector("[data-watched]");
    var done = summary.querySelector("[data-completed]");
    var percent = Math.floor((body.watched_ratio || 0) * 100);
    if (watched) watched.textContent = (data.msgWatched || "{percent}%").replace("{percent}", percent);
    if (done && body.completed) {
      done.hidden = false;
      var rule = document.querySelector("[data-player-rule]");
      if (rule) rule.hidden = true;
      var next = document.querySelector("[data-next-lesson]");   // the next lesson, offered
      if (next) next.hidden = false;
    }
  }

  // Once playback stops no heartbeat follows by itself: if the answer says part of what was
  // reported is not counted yet (or there was no answer), report again a little later, a few
  // times.
  function catchUp(body) {
    if (stopped || !video.paused || catchUps >= CATCH_UPS) return;
    if (body && !(body.uncounted_s > 0.001)) return;
    catchUps += 1;
    window.setTimeout(function () { if (video.paused) heartbeat(false); }, CATCH_UP_MS * catchUps);
  }

  function heartbeat(leaving) {
    if (!enrolled || stopped) return;
    if (!visitId) {
      // Nothing to report before the first play; once playing, report after the visit opens.
      if (!leaving && (opening || video.played.length)) {
        openVisit().then(function (id) { if (id) heartbeat(false); });
      }
      return;
    }
    if (sending && !leaving) {
      sendAgain = true;
      return;
    }
    var body = {
      visit_id: visitId,
      position_s: Math.max(0, Math.min(video.currentTime || 0, duration || Infinity)),
      segments: allPlayed(),
      rate: Math.min(MAX_RATE, Math.max(fastest, video.playbackRate || 1))
    };
    fastest = video.playbackRate || 1;
    sending = true;
    post(data.progressUrl, body, true, visitKey).then(function (response) {
      if (response.status === 404) visitId = null;          // the visit is gone: open another
      if (response.status === 403 || response.status === 401) stopped = true;
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      showProgress(answer);
      catchUp(answer);
    }, function () { catchUp(null); })   // offline: the next heartbeat carries the same intervals
      .then(function () {
        sending = false;
        if (sendAgain) {
          sendAgain = false;
          heartbeat(false);
        }
      });
  }

  video.addEventListener("play", function () {
    if (!started) {           // play() called by another script before the button
      begin();
      return;
    }
    catchUps = 0;
    if (!played) {
      played = true;
      // The first report comes early, so the 已看 figure moves soon after pressing play.
      window.setTimeout(function () { if (!video.paused) heartbeat(false); }, FIRST_HEARTBEAT_MS);
    }
    openVisit();
  });
  video.addEventListener("pause", function () {
    keepPosition(video.currentTime);
    heartbeat(false);
  });
  video.addEventListener("seeked", function () {
    keepPosition(video.currentTime);
    if (video.played.length || earlier.length) heartbeat(false);
  });
  video.addEventListener("ended", function () {
    keepPosition(video.duration || duration);
    heartbeat(false);
  });
  window.setInterval(function () {
    if (!video.paused && !video.ended) heartbeat(false);
  }, HEARTBEAT_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      keepPosition(video.currentTime);
      heartbeat(true);
    }
  });
  window.addEventListener("pagehide", function () {
    keepPosition(video.ended ? (video.duration || duration) : video.currentTime);
    heartbeat(true);
  });

  // --- start --------------------------------------------------------------------------------------

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      if (window.Hls) {
        resolve();
        return;
      }
      var script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  // The resident pressed play: now ask for the media (and hls.js if it is the engine). The
  // browser's own HLS and the MP4 start inside the tap, as Safari wants; hls.js starts once it is
  // in (the tap already allowed sound on this page).
  function begin() {
    if (started) return;
    started = true;
    if (startButton) startButton.hidden = true;
    video.controls = true;
    video.preload = "auto";
    var position = startPosition();
    if (engine !== "hls.js") {
      load(sourceUrl(), position, true);
      return;
    }
    loadScript(data.hlsScript).then(function () {
      if (window.Hls && window.Hls.isSupported()) load(sourceUrl(), position, true);
      else fallBackToMp4(position, true, "mp4");
    }, function () {
      fallBackToMp4(position, true, "mp4");   // hls.js could not be fetched
    });
  }

  if (controls) controls.hidden = false;
  if (engine === "mp4" || !data.hlsUrl) {
    var group = document.querySelector("[data-quality-group]");
    if (group) group.hidden = true;
  }
  if (!data.audioUrl) {
    qualityButtons.filter(function (b) { return b.getAttribute("data-quality") === "audio"; })
      .forEach(function (b) { b.hidden = true; });
  }
  // The browser's own HLS cannot climb from the lowest rung by itself: on a slow line choose it.
  if (engine === "native" && slowConnection() && rungUrl(0)) {
    quality = "0";
    press(qualityButtons, qualityButtons.filter(function (b) { return b.getAttribute("data-quality") === "0"; })[0]);
  }
  showRate();
  // The MP4 <source> is for browsers without this script; the button asks for media instead.
  Array.prototype.slice.call(video.querySelectorAll("source")).forEach(function (source) {
    source.remove();
  });
  if (startButton) {
    video.controls = false;
    startButton.hidden = false;
    startButton.addEventListener("click", function () {
      begin();
      video.focus();
    });
  }
})();
