// Polls a send's figures while it runs and updates the progress bar in place.
(function () {
  const root = document.querySelector("[data-progress-url]");
  if (!root) return;
  const url = root.dataset.progressUrl;
  const running = new Set(["scheduled", "sending"]);
  let status = null;

  function update(data) {
    const figures = data.figures;
    root.querySelector("[data-send-status]").textContent = data.status_label;
    root.querySelector("[data-send-reason]").textContent = data.pause_reason || "";
    root.querySelectorAll("[data-figure]").forEach(function (element) {
      const value = figures[element.dataset.figure];
      if (value !== undefined) element.textContent = value;
    });
    const bar = document.getElementById("send-progress");
    bar.value = figures.percent;
    bar.textContent = figures.percent + "%";
    if (status !== null && status !== data.status) {
      // The buttons depend on the status: show the right ones.
      window.location.reload();
    }
    status = data.status;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        update(data);
        if (running.has(data.status)) window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  poll();
})();
