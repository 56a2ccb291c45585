/* Sort a table by the column whose header button was pressed.
   Number columns sort by each cell's data-value; an empty value (an
   unpriced cost) stays at the bottom either way. */
(function () {
  "use strict";

  function key(row, index, numeric) {
    var cell = row.cells[index];
    if (!numeric) {
      return cell ? cell.textContent.trim().toLowerCase() : "";
    }
    var raw = cell ? cell.getAttribute("data-value") : null;
    return raw === null || raw === "" ? null : parseFloat(raw);
  }

  function compare(a, b, direction) {
    if (a === b) { return 0; }
    if (a === null) { return 1; }
    if (b === null) { return -1; }
    return (a < b ? -1 : 1) * direction;
  }

  function sort(header) {
    var table = header.closest("table");
    var numeric = header.getAttribute("data-type") === "number";
    var current = header.getAttribute("aria-sort");
    var descending = current === "none" ? numeric : current === "ascending";
    var direction = descending ? -1 : 1;
    var index = header.cellIndex;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, at) {
      return { row: row, at: at, key: key(row, index, numeric) };
    });
    rows.sort(function (a, b) {
      return compare(a.key, b.key, direction) || a.at - b.at;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    table.querySelectorAll("thead th").forEach(function (th) {
      th.setAttribute("aria-sort", "none");
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  document.querySelectorAll("table.sortable thead th button").forEach(
    function (button) {
      button.addEventListener("click", function () {
        sort(button.closest("th"));
      });
    }
  );
})();
