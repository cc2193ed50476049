// Progressive enhancement of the selection page; without this file the form works the same
// and the server checks the caps.
// - Each group's counter ("4 / 6 course outcomes selected") follows the ticks as they change,
//   announced politely to screen readers.
// - Once a group reaches its cap, its other boxes cannot be ticked (until one is unticked),
//   and the counter says so; boxes the server disabled stay disabled.
// - A page that comes back with an error summary puts the focus on it.
(function () {
  "use strict";
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  document.querySelectorAll(".selection-group[data-cap]").forEach(function (group) {
    const cap = Number(group.dataset.cap);
    const counter = group.querySelector(".selection-count");
    const boxes = Array.from(group.querySelectorAll("input[type=checkbox]"));
    boxes.forEach(function (box) { box.dataset.serverDisabled = box.disabled ? "1" : ""; });

    function update() {
      const ticked = boxes.filter(function (box) { return box.checked; }).length;
      counter.textContent = counter.dataset.countTemplate
        .replace("__N__", String(ticked)).replace("__CAP__", String(cap));
      counter.classList.toggle("at-cap", ticked >= cap);
      boxes.forEach(function (box) {
        if (box.dataset.serverDisabled) return;
        box.disabled = !box.checked && ticked >= cap;
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  });
})();
