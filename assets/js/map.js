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
