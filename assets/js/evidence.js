// My cases: evidence downloads and the player's corrected time (issue 17).
window.dash_clientside = Object.assign({}, window.dash_clientside);
window.dash_clientside.ccrEvidence = {
  // A download or export link the server has just logged: fetch it as a navigation, which the
  // browser turns into a download (the file streams to disk; nothing is held in the page).
  startDownload: function (link) {
    if (link && typeof link.url === "string" && link.url.indexOf("/cases/evidence/") === 0) {
      window.location.assign(link.url);
    }
    return null;
  },
};

// The player's time, the camera's clock and the real time beside a playing video. The video carries
// data-camera-start-ms (the recording time in the file, on the camera's clock; empty when none) and
// data-offset-s (camera minus real time, as the owner stated it).
(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(ms) {
    // UK time, whatever the officer's computer is set to.
    return new Date(ms).toLocaleString("en-GB", {
      timeZone: "Europe/London", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit",
      second: "2-digit", hour12: false, timeZoneName: "short",
    });
  }
  function playerTime(s) {
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
    return (h ? h + ":" + pad(m) : m) + ":" + pad(sec) + "." + Math.floor((s % 1) * 10);
  }
  function update(video) {
    const box = document.getElementById(video.getAttribute("data-times") || "");
    if (!box) return;
    const t = video.currentTime || 0;
    const part = function (name) { return box.querySelector('[data-part="' + name + '"]'); };
    part("player").textContent = "Player " + playerTime(t);
    const start = parseInt(video.getAttribute("data-camera-start-ms") || "", 10);
    if (!isNaN(start)) {
      const offsetMs = (parseInt(video.getAttribute("data-offset-s") || "0", 10) || 0) * 1000;
      const camera = start + t * 1000;
      part("camera").textContent = "Camera clock " + clock(camera);
      part("real").textContent = "Real time " + clock(camera - offsetMs);
    }
  }
  ["timeupdate", "seeked", "loadedmetadata"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      const target = event.target;
      if (target && target.tagName === "VIDEO" && target.hasAttribute("data-times")) update(target);
    }, true);  // media events do not bubble: listen while they go down
  });
})();
