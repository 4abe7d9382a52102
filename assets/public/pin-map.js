/* The registration form's map: centre on the postcode, let the owner place the pin by mouse,
   touch or keyboard, and keep the hidden lat/lon fields in step. The form works without it:
   with no pin the site is the postcode's centre. */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }  // announce the problems first (GOV.UK error summary pattern)
  // "Add another camera" comes back at the new camera (#cam-N): in view, with the keyboard there.
  var place = /^#cam-\d+$/.test(window.location.hash) ? document.getElementById(window.location.hash.slice(1)) : null;
  if (place && !summary) {
    place.scrollIntoView({ block: "start", behavior: "instant" });
    place.focus({ preventScroll: true });
  }
  var mapBox = document.getElementById("pin-map");
  if (!mapBox || typeof L === "undefined") { return; }
  var section = document.getElementById("pin-section");
  var findButton = document.getElementById("postcode-find");
  var postcode = document.getElementById("postcode");
  var latField = document.getElementById("lat");
  var lonField = document.getElementById("lon");
  var status = document.getElementById("pin-status");
  var map = null, pin = null, centre = null;
  var STEP_M = 2, BIG_STEP_M = 10;

  function metres(a, b) {
    var dy = (b.lat - a.lat) * 111320;
    var dx = (b.lng - a.lng) * 111320 * Math.cos(a.lat * Math.PI / 180);
    return { north: dy, east: dx, total: Math.sqrt(dx * dx + dy * dy) };
  }

  function describe() {
    var where = pin.getLatLng();
    latField.value = where.lat.toFixed(6);
    lonField.value = where.lng.toFixed(6);
    if (!centre) { return; }
    var d = metres(centre, where);
    if (d.total < 1) { status.textContent = "Pin at the centre of the postcode."; return; }
    var ns = Math.abs(d.north) >= 1 ? Math.round(Math.abs(d.north)) + " m " + (d.north > 0 ? "north" : "south") : "";
    var ew = Math.abs(d.east) >= 1 ? Math.round(Math.abs(d.east)) + " m " + (d.east > 0 ? "east" : "west") : "";
    status.textContent = "Pin " + [ns, ew].filter(Boolean).join(" and ") + " of the postcode centre.";
  }

  function show(lat, lon, keepPin) {
    section.hidden = false;
    centre = L.latLng(lat, lon);
    if (!map) {
      map = L.map(mapBox, { zoomControl: true, attributionControl: true, maxZoom: 19 }).setView(centre, 18);
      // The force's tile server (TILE_URL), or the app's own orientation tiles drawn from open data:
      // outlines underneath, postcodes and names in a pane above the circle and below the pin.
      L.tileLayer(mapBox.dataset.tiles, { maxZoom: 19, attribution: mapBox.dataset.attribution || "",
                                          className: "base-tiles" }).addTo(map);
      if (mapBox.dataset.labels) {
        map.createPane("orientation-labels");
        map.getPane("orientation-labels").style.zIndex = 450;
        map.getPane("orientation-labels").style.pointerEvents = "none";
        L.tileLayer(mapBox.dataset.labels, { maxZoom: 19, pane: "orientation-labels" }).addTo(map);
      }
      // The postcode's centre, for reference: the pin should be within a few tens of metres of it.
      L.circle(centre, { radius: 30, color: "#495057", weight: 1, fillOpacity: 0.05, interactive: false }).addTo(map);
      pin = L.marker(centre, { draggable: true, keyboard: true, title: "Your cameras' site", alt: "Pin: your cameras' site" }).addTo(map);
      pin.on("dragend", describe);
      map.on("click", function (e) { pin.setLatLng(e.latlng); describe(); });
      var icon = pin.getElement();
      icon.setAttribute("aria-describedby", "pin-help");
      icon.addEventListener("keydown", function (e) {
        var step = e.shiftKey ? BIG_STEP_M : STEP_M;
        var at = pin.getLatLng();
        var dLat = step / 111320, dLon = step / (111320 * Math.cos(at.lat * Math.PI / 180));
        var moves = { ArrowUp: [dLat, 0], ArrowDown: [-dLat, 0], ArrowLeft: [0, -dLon], ArrowRight: [0, dLon] };
        if (!moves[e.key]) { return; }
        e.preventDefault();
        e.stopPropagation();
        pin.setLatLng([at.lat + moves[e.key][0], at.lng + moves[e.key][1]]);
        describe();
      });
    }
    var start = keepPin && latField.value && lonField.value ? L.latLng(+latField.value, +lonField.value) : centre;
    map.setView(start, 18);
    pin.setLatLng(start);
    describe();
  }

  function lookUp(keepPin) {
    var text = postcode.value.trim();
    if (!text) { return; }
    fetch("/register/postcode?postcode=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (answer) {
        if (!answer.ok || answer.body.found === false) {
          section.hidden = false; status.textContent = answer.body.error; return;
        }
        show(answer.body.lat, answer.body.lon, keepPin);
        if (keepPin) { keepPlace(); }
      })
      .catch(function () { status.textContent = "The map could not be loaded; your site will be placed at the postcode."; });
  }

  // The map, shown above the cameras once the postcode is found, pushed the new camera down.
  function keepPlace() {
    if (place && !summary) { place.scrollIntoView({ block: "start", behavior: "instant" }); }
  }

  document.querySelectorAll(".js-only").forEach(function (el) { if (el !== section) { el.hidden = false; } });
  findButton.addEventListener("click", function () { latField.value = ""; lonField.value = ""; lookUp(false); });
  postcode.addEventListener("change", function () { latField.value = ""; lonField.value = ""; });
  if (postcode.value.trim()) { lookUp(true); }
})();
