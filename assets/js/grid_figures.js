// Numbers in AG Grid cells with thousands separators and a fixed number of decimals (issue 18).
// Python columns use it as {"function": "ccrFigure(params.value, 1)"} (dashboard/components/grid_columns.py).
// A value that is not a number (a hidden figure's words, "fewer than 8") is shown as it is; the grid still
// sorts by the number itself.
window.dashAgGridFunctions = Object.assign({}, window.dashAgGridFunctions, {
  ccrFigure: function (value, digits) {
    if (typeof value !== "number" || !isFinite(value)) {
      return value === null || value === undefined ? "" : String(value);
    }
    var d = digits || 0;
    return value.toLocaleString("en-GB", { minimumFractionDigits: d, maximumFractionDigits: d });
  },
});
