// The runs list: a "tick every run on this page" box and a count of the ticked runs for the
// bulk buttons, and the custom start range's fields shown only when "Between…" is chosen.
// Without JavaScript every box works one by one and both time fields always show.
(function () {
  "use strict";
  var form = document.querySelector("form[data-bulk]");
  if (form) {
    var all = form.querySelector("[data-select-all]");
    var boxes = form.querySelectorAll('input[name="run"]');
    var count = form.querySelector("[data-bulk-count]");
    var idle = count ? count.textContent : "";

    var update = function () {
      var ticked = 0;
      boxes.forEach(function (box) {
        if (box.checked) ticked += 1;
      });
      if (count) count.textContent = ticked ? ticked + (ticked === 1 ? " run ticked:" : " runs ticked:") : idle;
      if (all) {
        all.checked = ticked > 0 && ticked === boxes.length;
        all.indeterminate = ticked > 0 && ticked < boxes.length;
      }
    };
    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (box) {
          box.checked = all.checked;
        });
        update();
      });
    }
    boxes.forEach(function (box) {
      box.addEventListener("change", update);
    });
    update();
  }

  var filters = document.querySelector("form[data-run-filters]");
  if (filters) {
    var range = filters.querySelector("[data-range]");
    var custom = filters.querySelectorAll("[data-custom-range]");
    var show = function () {
      var on = range.value === "custom";
      custom.forEach(function (field) {
        field.hidden = !on;
        field.querySelector("input").disabled = !on;
      });
    };
    if (range) {
      range.addEventListener("change", show);
      show();
    }
  }
})();
