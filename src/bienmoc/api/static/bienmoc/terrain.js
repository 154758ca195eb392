/* bienmoc terrain layers (MIT): non-intervisible marker pairs as dashed lines and terrain
 * popups of markers, from the payload of bienmoc.maps.terrain.terrain_data. Popup text is put
 * in the DOM with textContent only (no innerHTML, no inline styles: the pages' CSP holds). */
(function (window, document) {
  "use strict";
  var L = window.L;

  function popup(title, lines) {
    var box = document.createElement("div");
    var b = document.createElement("b");
    b.textContent = String(title);
    box.appendChild(b);
    for (var i = 0; i < lines.length; i++) {
      var d = document.createElement("div");
      d.textContent = String(lines[i]);
      box.appendChild(d);
    }
    return box;
  }

  window.bienmocTerrain = function (map, groups, data) {
    var colour = data.colour || "#00acc1";
    (data.blocked || []).forEach(function (p) {
      var ln = L.polyline([p[0], p[1]], {color: colour, weight: 7, dashArray: "10 8",
                                         opacity: 0.9, className: "bm-blocked-pair"});
      ln.bindTooltip(String(p[2]));
      ln.addTo(groups.blocked);
    });
    var renderer = L.canvas({padding: 0.5});
    (data.markers || []).forEach(function (m) {
      var c = L.circleMarker([m[1], m[0]], {radius: 5, color: "#4d3319", weight: 1,
                                            fillColor: "#d9c4a5", fillOpacity: 0.9,
                                            renderer: renderer});
      c.bindPopup(function () { return popup(m[2], m[3]); });
      c.addTo(groups.markers);
    });
    window.bienmocTerrain.last = {map: map, groups: groups};   // for tests and scripts
  };
})(window, document);
