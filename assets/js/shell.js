// Client-side callbacks of the app shell (no server round trip).
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  ccr: {
    toggleNav: function (nClicks, isOpen) {
      return !isOpen;
    },
  },
});
