// Polls an import's progress while it runs; shows the result once it is done.
(function () {
  const root = document.querySelector("[data-import-progress-url]");
  if (!root) return;
  const url = root.dataset.importProgressUrl;

  function update(data) {
    root.querySelector("[data-import-status]").textContent = data.status_label;
    root.querySelector("[data-import-done]").textContent = data.done;
    root.querySelector("[data-import-total]").textContent = data.total;
    const bar = document.getElementById("import-progress");
    bar.value = data.percent;
    bar.textContent = data.percent + "%";
    // The result (or the error) is drawn by the page itself.
    if (data.finished) window.location.reload();
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        update(data);
        if (!data.finished) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
