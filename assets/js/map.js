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
window.ccr.map.cellStyle = function (feature) {
  var p = feature.properties || {};
  return {
    color: p.suppressed ? "#8a8f98" : "#1b2a4a",
    weight: 0.4,
    fillColor: p.fill || "#bfbfbf",
    fillOpacity: p.suppressed ? 0.35 : 0.8,
  };
};
