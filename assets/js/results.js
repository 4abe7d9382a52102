// The officer's results as cards on a phone (issue 18): the cards' checkboxes and the results grid
// show one selection. The grid's selectedRows stays the only thing the reveal and request callbacks
// read; ticking a card selects the same row in the grid, and selecting in the grid ticks the card.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  ccr_results: {
    syncSelection: function (selectedRows, ticked, rowData) {
      const nu = window.dash_clientside.no_update;
      const ctx = window.dash_clientside.callback_context;
      const fromCards = (ctx.triggered || []).some(function (t) { return t.prop_id.endsWith(".value"); });
      const rows = Array.isArray(rowData) ? rowData : [];
      if (fromCards) {
        const wanted = new Set(Array.isArray(ticked) ? ticked : []);
        return [rows.filter(function (r) { return wanted.has(r.camera_id); }), nu];
      }
      const ids = (Array.isArray(selectedRows) ? selectedRows : []).map(function (r) { return r && r.camera_id; })
        .filter(function (id) { return typeof id === "string"; });
      return [nu, ids];
    },
    // My cases on a phone: one case, then one request, chosen by radio buttons; the grids' selectedRows
    // stay the selection (the same single row, found by its id).
    syncOne_case_id: function (selectedRows, chosen, rowData) { return syncOne("case_id", selectedRows, chosen, rowData); },
    syncOne_request_id: function (selectedRows, chosen, rowData) {
      return syncOne("request_id", selectedRows, chosen, rowData);
    },
  },
});

function syncOne(key, selectedRows, chosen, rowData) {
  const nu = window.dash_clientside.no_update;
  const ctx = window.dash_clientside.callback_context;
  const fromCards = (ctx.triggered || []).some(function (t) { return t.prop_id.endsWith(".value"); });
  if (fromCards) {
    const rows = (Array.isArray(rowData) ? rowData : []).filter(function (r) { return r[key] === chosen; });
    return [rows.slice(0, 1), nu];
  }
  const first = Array.isArray(selectedRows) && selectedRows.length ? selectedRows[0] : null;
  return [nu, first && typeof first[key] === "string" ? first[key] : null];
}
