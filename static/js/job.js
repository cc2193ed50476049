// Follows a background job without reloading; the page works without this file
// (its "Check again" link reloads it).
(function () {
  const box = document.querySelector("[data-job-status]");
  if (!box || box.dataset.jobFinished === "1") return;
  const bar = box.querySelector("progress");
  const label = box.querySelector(".job-percent");
  async function poll() {
    try {
      const response = await fetch(box.dataset.jobStatus, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const state = await response.json();
        bar.value = state.progress;
        label.textContent = state.progress + "%";
        if (state.finished) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // Network hiccup: try again on the next tick.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 1000);
})();
