// Client-side callbacks of the app shell (no server round trip).
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  ccr: {
    toggleNav: function (nClicks, isOpen) {
      return !isOpen;
    },
  },
});

// When the server ends the login session (logout elsewhere, timeout, account disabled), the
// page's next update is refused with 401: go to the login page, which says why, instead of
// leaving a page that silently stops answering.
(function () {
  const fetchFirst = window.fetch.bind(window);
  window.fetch = function (resource, init) {
    return fetchFirst(resource, init).then(function (response) {
      const url = typeof resource === "string" ? resource : (resource && resource.url) || "";
      if (response.status === 401 && url.indexOf("/_dash-") !== -1) {
        const next = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(next));
        return new Promise(function () {});  // the page is leaving: the update never completes
      }
      return response;
    });
  };
})();
