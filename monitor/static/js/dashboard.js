/* The dashboard's charts: each figure is a JSON data block the server wrote beside its table
   (no inline script, so the Content-Security-Policy stays 'self'); without JavaScript the
   tables say it all. */
(function () {
  "use strict";
  if (!window.Plotly) { return; }
  var boxes = document.querySelectorAll(".chart[data-figure]");
  for (var i = 0; i < boxes.length; i++) {
    var box = boxes[i];
    var source = document.getElementById(box.getAttribute("data-figure"));
    if (!source) { continue; }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(box, figure.data, figure.layout, {displayModeBar: false, responsive: true});
  }
})();
