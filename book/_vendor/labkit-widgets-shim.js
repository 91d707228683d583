/* labkit: glue between the vendored scripts of the course website (no CDN needed).
 *
 * Loaded after require.js and before @jupyter-widgets/html-manager's embed-amd.js
 * (see nb_ipywidgets_js in _config.yml). It does two things:
 * 1. tells require.js where html-manager's dist/ folder lives, so that the Font Awesome fonts
 *    embed-amd.js asks for (relative to each bundled module's URL) are found next to it;
 * 2. gives MathJax 3 the MathJax 2 entry point `MathJax.Hub.Queue(["Typeset", MathJax.Hub, el])`
 *    that the widget labels still call (html-manager 1.0.x), forwarding it to
 *    `MathJax.typesetPromise([el])`. MathJax 3 replaces the global MathJax object when it loads,
 *    so the stub is (re)installed now and again when the document has been parsed.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/[^\/]*$/, "") : "";
  if (window.require && typeof window.require.config === "function") {
    // Each bundled module (@jupyter-widgets/base, base7, controls7 and html-manager's
    // libembed-amd) derives the URL of its fonts from its own module URL, so all of them must
    // resolve into the vendored dist/ folder (require.js picks the longest matching prefix).
    window.require.config({
      paths: {
        "@jupyter-widgets": base + "html-manager",
        "@jupyter-widgets/html-manager/dist": base + "html-manager"
      }
    });
  }

  function installHub() {
    var mj = window.MathJax;
    if (!mj || !mj.version || (mj.Hub && mj.Hub.labkitShim)) {
      return; // no MathJax 3 on this page (yet), or already done
    }
    mj.Hub = {
      labkitShim: true,
      Queue: function () {
        var elements = [];
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (job && job[0] === "Typeset" && job[2]) {
            elements.push(job[2]);
          }
        }
        if (elements.length && typeof mj.typesetPromise === "function") {
          var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
          ready.then(function () { return mj.typesetPromise(elements); })
            .catch(function (error) { console.warn("MathJax typeset failed:", error); });
        }
      }
    };
  }

  installHub();
  document.addEventListener("DOMContentLoaded", installHub, true);
  window.addEventListener("load", installHub, true);
})();
