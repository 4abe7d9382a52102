/* The success page's "Copy link" button. Without JavaScript the button stays hidden and the link
   is in a read-only field the owner can select and copy; with it, one press copies the link and
   the page says "Copied" in a polite live region (screen readers announce it). */
(function () {
  "use strict";
  var button = document.getElementById("copy-link");
  var field = document.getElementById("manage-link-field");
  var status = document.getElementById("copy-link-status");
  if (!button || !field || !status) { return; }
  button.hidden = false;

  function done(ok) {
    status.textContent = "";
    // A new text node each time, so pressing twice is announced twice.
    window.setTimeout(function () {
      status.textContent = ok ? "Copied" : "Could not copy: select the link and copy it yourself.";
    }, 50);
  }

  function fallback() {
    field.focus();
    field.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    done(ok);
  }

  field.addEventListener("focus", function () { field.select(); });
  button.addEventListener("click", function () {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  });
})();
