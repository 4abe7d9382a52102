// Accessibility repairs to Dash's own components (issue 18), applied to whatever the page renders.
//
// - dcc.Dropdown (Dash 4) puts a focusable input marked aria-hidden in front of its button and moves
//   focus on to the button: a screen reader meets a focus stop it is told does not exist (axe:
//   aria-hidden-focus). The button itself takes the focus instead; it carries the dropdown's name
//   and opens the list from the keyboard.
// - dcc.Slider's handle (role=slider) and its number box have no name: they take the text of the
//   <label for=...> that names the slider (axe: aria-input-field-name, label).
// - dcc.Upload's file input has no name: it takes the drop zone's own words (axe: label).
// - A table that scrolls sideways in its own box (.table-responsive, on a phone) can be scrolled from
//   the keyboard: it becomes a focus stop while it overflows (axe: scrollable-region-focusable).
(function () {
  function labelFor(id) {
    if (!id) return null;
    const label = document.querySelector('label[for="' + CSS.escape(id) + '"]');
    return label ? label.textContent.replace(/\s+/g, " ").trim() : null;
  }

  function repair(root) {
    root.querySelectorAll(".dash-dropdown-focus-target").forEach(function (target) {
      if (target.tabIndex !== -1) target.tabIndex = -1;
      const button = target.nextElementSibling;
      if (button && button.tagName === "BUTTON" && !button.disabled && button.tabIndex !== 0) button.tabIndex = 0;
    });
    root.querySelectorAll(".dash-slider-container[id]").forEach(function (slider) {
      const name = labelFor(slider.id);
      if (!name) return;
      slider.querySelectorAll('[role="slider"], input.dash-range-slider-input').forEach(function (el) {
        if (el.getAttribute("aria-label") !== name) el.setAttribute("aria-label", name);
      });
    });
    root.querySelectorAll('input[type="file"]:not([aria-label])').forEach(function (input) {
      const zone = input.parentElement;
      const words = zone ? zone.textContent.replace(/\s+/g, " ").trim() : "";
      input.setAttribute("aria-label", words || "Choose a file");
    });
    root.querySelectorAll(".table-responsive").forEach(function (box) {
      const overflows = box.scrollWidth > box.clientWidth + 1;
      if (overflows && box.getAttribute("tabindex") !== "0") box.setAttribute("tabindex", "0");
      if (!overflows && box.getAttribute("tabindex") === "0") box.removeAttribute("tabindex");
    });
  }

  let queued = false;
  function schedule() {
    if (queued) return;
    queued = true;
    window.requestAnimationFrame(function () {
      queued = false;
      repair(document);
    });
  }

  function start() {
    repair(document);
    // The dropdown's button hands the focus stop back to the hidden input when it loses focus:
    // attribute changes are watched too.
    // Only what concerns these repairs wakes them: new content outside the grids (AG Grid redraws
    // its rows and moves tabindex between cells all the time), and the dropdown's own focus stop.
    new MutationObserver(function (records) {
      for (const r of records) {
        const el = r.target;
        if (r.type === "attributes" ? el.classList && el.classList.contains("dash-dropdown-focus-target")
          : r.addedNodes.length && !(el.closest && el.closest(".ag-root-wrapper"))) {
          schedule();
          return;
        }
      }
    }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["tabindex"] });
  }

  window.addEventListener("resize", schedule);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
