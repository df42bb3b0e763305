// Draw every chart whose figure sits in a <script type="application/json"> beside it.
// Without JavaScript the tables under each chart carry the same figures.
(function () {
  "use strict";
  if (typeof Plotly === "undefined") { return; }
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  document.querySelectorAll("div.plot[data-figure]").forEach(function (el) {
    var src = document.getElementById(el.getAttribute("data-figure"));
    if (!src) { return; }
    try {
      var fig = JSON.parse(src.textContent);
      el.innerHTML = "";
      Plotly.newPlot(el, fig.data, fig.layout, config);
      el.setAttribute("data-drawn", "yes");
    } catch (e) {
      el.setAttribute("data-drawn", "failed");
    }
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("div.plot[data-drawn=yes]").forEach(function (el) { Plotly.Plots.resize(el); });
  });
})();
