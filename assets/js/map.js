// Map style functions for dash-leaflet, referenced from Python as {"variable": "ccr.map.<name>"}.
window.ccr = Object.assign({}, window.ccr, {
  map: {
    districtStyle: function (feature) {
      return {
        color: "#1b2a4a",
        weight: 1.2,
        fillColor: (feature.properties && feature.properties.fill) || "#bfbfbf",
        fillOpacity: 0.75,
      };
    },
    districtHover: function () {
      return { weight: 3, color: "#0b1730" };
    },
  },
});
window.ccr.map.wedgeStyle = function (feature) {
  var colour = (feature.properties && feature.properties.colour) || "#57606a";
  return { color: colour, weight: 1, fillColor: colour, fillOpacity: 0.18 };
};
window.ccr.map.outlineStyle = function () {
  return { color: "#52606d", weight: 1.5, fill: true, fillColor: "#ffffff", fillOpacity: 0.35, dashArray: "4 3" };
};
window.ccr.map.cameraMarker = function (feature, latlng) {
  var colour = (feature.properties && feature.properties.colour) || "#57606a";
  return L.circleMarker(latlng, { radius: 6, weight: 2, color: "#ffffff", fillColor: colour, fillOpacity: 0.95 });
};
// Coverage cells: properties c (index into the palette, -1 when suppressed), n (cameras), r (registrations),
// both published through the disclosure-control layer (slightly adjusted).
window.ccr.map.cellPalette = ["#dbe9f6", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
window.ccr.map.cellColour = function (c) {
  return c < 0 ? "#bfbfbf" : window.ccr.map.cellPalette[c];
};
window.ccr.map.cellStyle = function (feature) {
  var p = feature.properties || {};
  var hidden = p.c === undefined || p.c < 0;
  return {
    color: hidden ? "#8a8f98" : "#1b2a4a",
    weight: 0.4,
    fillColor: window.ccr.map.cellColour(hidden ? -1 : p.c),
    fillOpacity: hidden ? 0.35 : 0.8,
  };
};
window.ccr.map.cellTooltip = function (feature, layer, context) {
  var p = feature.properties || {};
  var k = (context && context.hideout && context.hideout.k) || (context && context.props && context.props.hideout && context.props.hideout.k) || "K";
  var text = (p.c === undefined || p.c < 0)
    ? "No number: fewer than " + k + " registrations, or hidden with this filter"
    : "About " + p.n.toLocaleString("en-GB") + " cameras from about " + p.r.toLocaleString("en-GB") +
      " registrations (adjusted to protect owners)";
  layer.bindTooltip(text);
};
