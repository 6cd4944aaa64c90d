// Pages are cached and shared by every visitor, so their forms carry no CSRF
// token (home/page_cache.py empties the field). Before such a form is sent,
// fetch a token for this visitor from /csrf/, which is never cached, fill it
// in and send the form again. A form that already has a token (a page drawn
// for a signed-in editor) is left alone.
(function () {
    "use strict";
    var FIELD = 'input[name="csrfmiddlewaretoken"]';
    var pending = null;

    function fetchToken() {
        if (!pending) {
            pending = fetch("/csrf/", { credentials: "same-origin", cache: "no-store" })
                .then(function (response) {
                    if (!response.ok) { throw new Error("CSRF token: " + response.status); }
                    return response.json();
                })
                .then(function (data) { return data.token; })
                .catch(function (error) { pending = null; throw error; });
        }
        return pending;
    }

    function emptyFields(form) {
        return Array.prototype.filter.call(form.querySelectorAll(FIELD), function (field) {
            return !field.value;
        });
    }

    // Fetched as soon as someone starts on a form, so sending rarely waits.
    document.addEventListener("focusin", function (event) {
        var form = event.target.form;
        if (form && emptyFields(form).length) { fetchToken().catch(function () {}); }
    });

    document.addEventListener("submit", function (event) {
        var form = event.target;
        var fields = emptyFields(form);
        // Tried once already: let it go, and the server says what is wrong.
        if (!fields.length || form.dataset.csrfTried) { return; }
        event.preventDefault();
        // Other handlers see only the submission that goes out.
        event.stopImmediatePropagation();
        var submitter = event.submitter || null;
        fetchToken().then(function (token) {
            fields.forEach(function (field) { field.value = token; });
        }).catch(function () {
            // No token to be had: sent without one, the server explains.
        }).then(function () {
            form.dataset.csrfTried = "1";
            // A token fetched earlier arrives while this submit event is still
            // being dispatched, when browsers ignore a new submission: wait a tick.
            setTimeout(function () {
                if (form.requestSubmit) { form.requestSubmit(submitter); } else { form.submit(); }
            }, 0);
        });
    }, true);
}());
