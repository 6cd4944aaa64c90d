/*
 * A searchable list of time zones over a plain <select multiple>.
 *
 * Without this script the select works as it is. With it, the select is hidden
 * and kept in step with a search box and a list of checkboxes: typing filters
 * the list ("new york", "berl", "Australia/"), ticking a box chooses a zone,
 * and a live line says how many zones match and which are chosen. The field's
 * label, help text and errors move to the search box.
 */
(function () {
    "use strict";

    var SHOWN_AT_MOST = 60;

    function words(text) {
        return text.toLowerCase().replace(/_/g, " ");
    }

    function enhance(root) {
        var select = root.querySelector("select[multiple]");
        if (!select) {
            return;
        }
        var label = root.querySelector('label[for="' + select.id + '"]');
        var search = document.createElement("input");
        search.type = "search";
        search.id = select.id + "-search";
        search.className = "zone-picker__search";
        search.autocomplete = "off";
        search.spellcheck = false;

        var hint = document.createElement("p");
        hint.id = select.id + "-hint";
        hint.className = "zone-picker__count";
        hint.setAttribute("aria-live", "polite");

        var options = document.createElement("div");
        options.id = select.id + "-options";
        options.className = "zone-picker__options";
        options.setAttribute("role", "group");
        options.setAttribute("aria-label", "Time zones matching your search");
        search.setAttribute("aria-controls", options.id);

        var chosen = document.createElement("p");
        chosen.className = "zone-picker__chosen";
        chosen.setAttribute("aria-live", "polite");

        var describedBy = (select.getAttribute("aria-describedby") || "").trim();
        search.setAttribute("aria-describedby", (describedBy + " " + hint.id).trim());
        if (select.getAttribute("aria-invalid")) {
            search.setAttribute("aria-invalid", select.getAttribute("aria-invalid"));
        }

        var rows = Array.prototype.map.call(select.options, function (option, index) {
            var row = document.createElement("div");
            row.className = "zone-picker__option";
            var box = document.createElement("input");
            box.type = "checkbox";
            box.id = select.id + "-zone-" + index;
            box.value = option.value;
            box.checked = option.selected;
            var text = document.createElement("label");
            text.htmlFor = box.id;
            text.appendChild(box);
            text.appendChild(document.createTextNode(option.textContent));
            row.appendChild(text);
            box.addEventListener("change", function () {
                option.selected = box.checked;
                showChosen();
            });
            options.appendChild(row);
            return { row: row, box: box, words: words(option.value) };
        });

        function showChosen() {
            var names = Array.prototype.filter
                .call(select.options, function (option) { return option.selected; })
                .map(function (option) { return option.textContent; });
            chosen.textContent = names.length
                ? "Chosen: " + names.join(", ") + "."
                : "No time zone chosen yet.";
        }

        function filter() {
            var query = words(search.value.trim());
            var matching = 0;
            rows.forEach(function (entry) {
                var matches = !query || entry.words.indexOf(query) !== -1;
                if (matches) {
                    matching += 1;
                }
                var shown = entry.box.checked || (matches && matching <= SHOWN_AT_MOST);
                entry.row.hidden = !shown;
            });
            if (!query) {
                hint.textContent = "Type part of a zone's name, such as a city, to find it.";
            } else if (matching === 0) {
                hint.textContent = "No time zone matches “" + search.value.trim() + "”.";
            } else if (matching > SHOWN_AT_MOST) {
                hint.textContent = matching + " zones match; the first " +
                    SHOWN_AT_MOST + " are shown. Type more to narrow the list.";
            } else {
                hint.textContent = matching + (matching === 1 ? " zone matches." : " zones match.");
            }
        }

        search.addEventListener("input", filter);
        search.addEventListener("keydown", function (event) {
            // Enter in the search box would send the whole form.
            if (event.key === "Enter") {
                event.preventDefault();
            }
        });

        select.hidden = true;
        select.after(search, hint, options, chosen);
        if (label) {
            label.htmlFor = search.id;
        }
        filter();
        showChosen();
    }

    document.querySelectorAll("[data-zone-picker]").forEach(enhance);
})();
