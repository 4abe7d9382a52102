// The owner's response page: show the section for the chosen answer, and upload files with
// tus-js-client (resumable: a dropped connection or a paused upload carries on from the last byte
// the server has; choosing the same file again after a reload resumes it too).
(function () {
  "use strict";
  var form = document.getElementById("respond-form");
  if (!form) return;

  // ----- the answer chosen decides what is shown
  var footage = document.getElementById("footage-section");
  var clockAmount = document.getElementById("clock-amount");
  function showAnswer() {
    var chosen = form.querySelector("input[name=answer]:checked");
    footage.hidden = !(chosen && chosen.value === "footage");
    var clock = form.querySelector("input[name=clock_direction]:checked");
    clockAmount.hidden = !(clock && clock.value !== "right");
  }
  form.addEventListener("change", showAnswer);
  showAnswer();

  // ----- uploads
  var box = document.getElementById("files");
  var input = document.getElementById("file-input");
  var rows = document.getElementById("file-rows");
  var start = document.getElementById("upload-start");
  var endpoint = box.dataset.endpoint;
  var maxFiles = Number(box.dataset.maxFiles), maxFileBytes = Number(box.dataset.maxFileBytes);
  var maxTotalBytes = Number(box.dataset.maxTotalBytes);
  var pending = [];  // {file, row, upload, caption}

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function bytes(n) { return Number(n).toLocaleString("en-GB"); }
  function size(n) {
    if (n >= 1073741824) return (n / 1073741824).toFixed(1) + " GB";
    if (n >= 1048576) return (n / 1048576).toFixed(1) + " MB";
    return Math.max(1, Math.round(n / 1024)) + " KB";
  }
  function keptRows() { return rows.querySelectorAll(".file-row:not([data-state=refused]):not([data-state=removed])").length; }
  function keptBytes() {
    var total = 0;
    rows.querySelectorAll(".file-row:not([data-state=refused]):not([data-state=removed])").forEach(function (r) {
      total += Number(r.dataset.size || 0);
    });
    return total;
  }
  function serverMessage(err) {
    var res = err && err.originalResponse;
    var body = res && res.getBody && res.getBody();
    if (body) {
      try { var parsed = JSON.parse(body); if (parsed.error) return parsed.error; } catch (e) { /* plain text */ }
      return String(body).slice(0, 300);
    }
    return "The connection was lost. Press Resume to carry on from where it stopped.";
  }
  function setStatus(item, text) { item.status.textContent = text; }

  function addFile(file) {
    var problem = "";
    if (file.size === 0) problem = "This file is empty (0 bytes): choose the file that holds the footage.";
    else if (file.size > maxFileBytes) problem = "This file is " + size(file.size) + ", over the " + size(maxFileBytes) + " a file may be.";
    else if (keptRows() >= maxFiles) problem = "You can send up to " + maxFiles + " files.";
    else if (keptBytes() + file.size > maxTotalBytes) problem = "Together your files would be over " + size(maxTotalBytes) + ".";
    var row = el("li", "file-row card mb-2");
    row.dataset.state = problem ? "refused" : "chosen";
    row.dataset.size = String(file.size);
    var body = el("div", "card-body py-2");
    var head = el("div", "d-flex flex-wrap justify-content-between gap-2");
    head.appendChild(el("span", "fw-semibold file-name text-break", file.name));
    head.appendChild(el("span", "file-size text-body-secondary", size(file.size)));
    body.appendChild(head);
    var item = {file: file, row: row, upload: null};
    if (!problem) {
      var id = "caption-" + Math.random().toString(36).slice(2);
      var label = el("label", "form-label small mb-0 mt-1", "Caption (optional)");
      label.htmlFor = id;
      var caption = el("input", "form-control form-control-sm file-caption");
      caption.id = id; caption.maxLength = 300; caption.type = "text";
      body.appendChild(label); body.appendChild(caption);
      item.caption = caption;
      var bar = el("div", "progress mt-2");
      bar.setAttribute("role", "progressbar"); bar.setAttribute("aria-valuemin", "0"); bar.setAttribute("aria-valuemax", "100");
      bar.setAttribute("aria-label", "Upload of " + file.name);
      var fill = el("div", "progress-bar"); fill.style.width = "0%";
      bar.appendChild(fill); body.appendChild(bar);
      item.bar = bar; item.fill = fill;
    }
    item.status = el("div", "file-status small mt-1", problem || "Ready to upload.");
    item.status.setAttribute("role", "status");
    body.appendChild(item.status);
    var buttons = el("div", "d-flex gap-2 mt-1");
    if (!problem) {
      item.pause = el("button", "btn btn-sm btn-outline-secondary file-pause", "Pause"); item.pause.type = "button"; item.pause.hidden = true;
      item.resume = el("button", "btn btn-sm btn-outline-primary file-resume", "Resume"); item.resume.type = "button"; item.resume.hidden = true;
      item.pause.addEventListener("click", function () { pause(item); });
      item.resume.addEventListener("click", function () { begin(item); });
      buttons.appendChild(item.pause); buttons.appendChild(item.resume);
    }
    var remove = el("button", "btn btn-sm btn-outline-danger file-remove", "Remove"); remove.type = "button";
    remove.addEventListener("click", function () { discard(item); });
    buttons.appendChild(remove);
    body.appendChild(buttons);
    row.appendChild(body);
    rows.appendChild(row);
    if (!problem) pending.push(item);
    start.disabled = !pending.some(function (p) { return !p.upload; });
  }

  // A mobile connection can stall without failing: no error, no progress. Start the request again
  // (it resumes from what the server has) when nothing has moved for a while; the server's last
  // answer (checking a whole file) is given longer.
  var STALLED_MS = 30000, FINAL_ANSWER_MS = 120000;
  function watch(item) {
    if (item.watching) return;
    item.watching = setInterval(function () {
      if (item.finished) { clearInterval(item.watching); item.watching = null; return; }
      if (!item.running) return;
      if (Date.now() - item.lastProgress < (item.sentAll ? FINAL_ANSWER_MS : STALLED_MS)) return;
      item.lastProgress = Date.now();
      setStatus(item, "The connection stalled: trying again from where it stopped…");
      item.upload.abort().then(function () { item.upload.start(); });
    }, 5000);
  }

  function pause(item) {
    if (!item.upload) return;
    item.running = false;
    item.upload.abort();
    item.pause.hidden = true; item.resume.hidden = false;
    setStatus(item, "Paused at " + Math.floor(item.percent || 0) + "%. Press Resume to carry on.");
  }

  function discard(item) {
    if (item.upload) item.upload.abort(true).catch(function () { /* gone already */ });
    item.row.dataset.state = "removed";
    item.row.remove();
    pending = pending.filter(function (p) { return p !== item; });
    start.disabled = !pending.some(function (p) { return !p.upload; });
  }

  function refresh(item) {
    // The server probes each file when its last byte arrives: ask what it decided.
    fetch(box.dataset.list, {credentials: "same-origin", cache: "no-store"}).then(function (r) { return r.json(); })
      .then(function (list) {
        var key = item.upload && item.upload.url ? item.upload.url.split("/").pop() : null;
        var found = (list.files || []).filter(function (f) { return f.key === key; })[0];
        if (!found) return;
        item.row.dataset.state = found.state;
        item.row.dataset.key = found.key;
        if (found.state === "stored") {
          setStatus(item, "");
          item.status.appendChild(document.createTextNode("Received. SHA-256 "));
          item.status.appendChild(el("code", "text-break sha256", found.sha256));
          if (item.fill) item.fill.classList.add("bg-success");
        } else if (found.state === "refused") {
          setStatus(item, "Not accepted: " + found.refusal);
          if (item.fill) item.fill.classList.add("bg-danger");
        }
      }).catch(function () { setStatus(item, "Uploaded. Reload the page to see it checked."); });
  }

  function begin(item) {
    if (!item.upload) {
      item.upload = new tus.Upload(item.file, {
        endpoint: endpoint,
        chunkSize: 16 * 1024 * 1024,
        retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
        removeFingerprintOnSuccess: true,
        metadata: {filename: item.file.name, filetype: item.file.type || "", caption: item.caption ? item.caption.value : ""},
        onProgress: function (sent, total) {
          item.lastProgress = Date.now();
          item.sentAll = sent >= total;
          item.percent = total ? (sent / total) * 100 : 0;
          item.fill.style.width = item.percent.toFixed(1) + "%";
          item.bar.setAttribute("aria-valuenow", String(Math.floor(item.percent)));
          setStatus(item, "Uploading: " + size(sent) + " of " + size(total) + ".");
        },
        onSuccess: function () {
          item.finished = true;
          item.pause.hidden = true; item.resume.hidden = true;
          setStatus(item, "Uploaded: checking the file…");
          refresh(item);
        },
        onError: function (err) {
          item.running = false;
          item.pause.hidden = true; item.resume.hidden = false;
          var status = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
          if (status >= 400 && status < 500 && status !== 409 && status !== 423) item.resume.hidden = true;
          setStatus(item, serverMessage(err));
        },
      });
      if (item.caption) item.caption.readOnly = true;
    }
    item.pause.hidden = false; item.resume.hidden = true;
    item.running = true;
    item.lastProgress = Date.now();
    watch(item);
    item.upload.findPreviousUploads().then(function (previous) {
      if (previous.length) item.upload.resumeFromPreviousUpload(previous[0]);
      item.upload.start();
    });
  }

  input.addEventListener("change", function () {
    Array.prototype.forEach.call(input.files, addFile);
    input.value = "";
  });
  start.addEventListener("click", function () {
    pending.filter(function (p) { return !p.upload; }).forEach(begin);
    start.disabled = true;
  });

  // Files already on the server (listed by the page): remove one before answering.
  rows.querySelectorAll(".file-row[data-key] .file-remove").forEach(function (button) {
    button.addEventListener("click", function () {
      var row = button.closest(".file-row");
      fetch(endpoint + "/" + row.dataset.key, {method: "DELETE", headers: {"Tus-Resumable": "1.0.0"}, credentials: "same-origin"})
        .then(function (r) { if (r.ok || r.status === 404) row.remove(); });
    });
  });

  // Sending the answer while files are still uploading would leave them out: say so first.
  form.addEventListener("submit", function (event) {
    var chosen = form.querySelector("input[name=answer]:checked");
    var busy = pending.some(function (p) { return p.upload && !(p.row.dataset.state === "stored" || p.row.dataset.state === "refused"); });
    if (chosen && chosen.value === "footage" && busy) {
      event.preventDefault();
      var note = document.getElementById("upload-wait") || el("div", "alert alert-warning mt-2");
      note.id = "upload-wait"; note.setAttribute("role", "alert");
      note.textContent = "Some files are still uploading. Wait until each one says Received, then send your answer.";
      box.appendChild(note);
      note.scrollIntoView({block: "center"});
    }
  });
})();
