// Shows each session's time in the visitor's own time zone, next to the time in
// the session's zone that the server wrote. Without JavaScript the page still
// gives the zone and its UTC offset. At checkout it records the buyer's zone.
(function () {
  "use strict";

  var visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var range = new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "numeric",
    minute: "2-digit",
    timeZoneName: "short",
  });

  function describe(element) {
    var start = new Date(element.getAttribute("data-local-start"));
    var end = new Date(element.getAttribute("data-local-end"));
    if (isNaN(start) || isNaN(end)) {
      return;
    }
    if (element.getAttribute("data-zone") === visitorZone) {
      element.textContent = "That is your time zone too.";
    } else {
      element.textContent =
        "Your time (" + visitorZone.replace(/_/g, " ") + "): " +
        range.formatRange(start, end);
    }
    element.hidden = false;
  }

  function run() {
    document.querySelectorAll("[data-local-start]").forEach(describe);
    // Checkout: emails then show the buyer's own time.
    document.querySelectorAll("input[name=buyer_time_zone]").forEach(function (input) {
      input.value = visitorZone;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
