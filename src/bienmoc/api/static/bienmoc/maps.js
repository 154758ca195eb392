/* bienmoc maps: data-driven layers for the Folium maps of bienmoc (MIT).
 *
 * Why hand-written: folium emits one Leaflet object (and one template rendering) per marker,
 * i.e. ~1 KB of HTML each and ~0.6 ms of server time each, and has no layer that draws many
 * points from one compact JSON on a canvas or loads the data for the current view on demand.
 * Here the page (built by folium: map, panes, named FeatureGroups, layer control, scale) calls
 * bienmoc.map(), which fills those groups from compact JSON - embedded in the page (notebooks)
 * or fetched from the map server's /maps/data/* endpoints (per view for large incident sets).
 *
 * Safety: every value that comes from data reaches the DOM through textContent or DOM nodes,
 * never through innerHTML or string templates.
 */
(function (window, document) {
  "use strict";
  var L = window.L;
  var B = window.bienmoc = window.bienmoc || {};
  B.maps = B.maps || [];
  var busy = 0, readyCount = 0;

  // -- small helpers ---------------------------------------------------------------------
  function el(tag, cls, txt) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (txt !== undefined && txt !== null) { e.textContent = String(txt); }
    return e;
  }
  function fmtDate(iso, lang) {
    if (!iso) { return ""; }
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
    if (!m) { return String(iso); }
    return lang === "vi" ? m[3] + "/" + m[2] + "/" + m[1] : m[1] + "-" + m[2] + "-" + m[3];
  }
  function fmtNum(x, lang, digits) {
    if (x === null || x === undefined || x === "") { return ""; }
    return Number(x).toLocaleString(lang === "vi" ? "vi-VN" : "en-GB",
      {maximumFractionDigits: digits || 0});
  }
  function lab(st, enumName, code) {
    var t = st.cfg.labels.enums[enumName];
    return (t && Object.prototype.hasOwnProperty.call(t, code)) ? t[code] : (code || "");
  }
  function popupBox(title, rows, history) {
    var box = el("div", "bm-popup");
    box.appendChild(el("div", "bm-popup-title", title));
    var tbl = el("table");
    rows.forEach(function (r) {
      if (r[1] === null || r[1] === undefined || r[1] === "") { return; }
      var tr = el("tr");
      tr.appendChild(el("th", null, r[0]));
      var td = el("td", r[2] || null, r[1]);
      tr.appendChild(td);
      tbl.appendChild(tr);
    });
    box.appendChild(tbl);
    if (history) { box.appendChild(history); }
    return box;
  }
  // a link to the record's history page (server pages only: cfg.history is its base URL)
  function historyLink(st, path, params) {
    if (!st.cfg.history) { return null; }
    var a = el("a", "bm-history", st.cfg.labels.text.history);
    a.href = absUrl(st.cfg.history + "/" + path, Object.assign({lang: st.cfg.lang}, params || {}));
    var p = el("div", "bm-popup-history");
    p.appendChild(a);
    return p;
  }
  function absUrl(url, params) {
    var u = new URL(url, document.baseURI);
    Object.keys(params || {}).forEach(function (k) {
      if (params[k] !== null && params[k] !== undefined && params[k] !== "") {
        u.searchParams.set(k, params[k]);
      }
    });
    return u.toString();
  }
  function getJSON(url) {
    return window.fetch(url, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error("bienmoc: " + r.status + " for " + url); }
      return r.json();
    });
  }
  function begin(st) { busy++; st.busy++; document.documentElement.setAttribute("data-bienmoc-busy", "1"); }
  function end(st) {
    st.busy--;
    busy--;
    if (busy > 0) { return; }
    window.requestAnimationFrame(function () {
      window.requestAnimationFrame(function () {
        if (busy > 0) { return; }
        readyCount++;
        document.documentElement.removeAttribute("data-bienmoc-busy");
        document.documentElement.setAttribute("data-bienmoc-ready", String(readyCount));
        B.maps.forEach(function (s) { s.stats.ready = readyCount; });
        document.dispatchEvent(new window.CustomEvent("bienmoc:ready"));
      });
    });
  }
  function fail(st, err) {
    st.stats.errors.push(String(err));
    if (st.statusBox) { st.statusBox.textContent = st.cfg.labels.text.load_error; }
    if (window.console) { window.console.error(err); }
  }
  // a source is {data: payload} (embedded) or {url: "..."} (fetched)
  function load(st, src, params, onData) {
    begin(st);
    var p = src.data ? Promise.resolve(src.data)
      : getJSON(absUrl(src.url, Object.assign({}, src.params || {}, params)));
    return p.then(function (d) { onData(d); }).catch(function (e) { fail(st, e); })
      .then(function () { end(st); });
  }

  // -- base layers: provinces, neighbouring countries, boundary lines ----------------------
  function drawBase(st, base) {
    var g = st.groups, C = st.cfg.colours, T = st.cfg.labels;
    if (g.neighbours && base.neighbours) {
      L.geoJSON(base.neighbours, {
        style: function () { return C.neighbour; }, interactive: false
      }).eachLayer(function (ly) { g.neighbours.addLayer(ly); });
      base.neighbours.features.forEach(function (f) {
        var p = f.properties, at = p.label_at;
        if (!at) { return; }
        var name = st.cfg.lang === "vi" ? p.name_vi : p.name_en;
        g.neighbours.addLayer(L.tooltip({permanent: true, direction: "center", interactive: false,
          className: "bm-country-label"}).setLatLng([at[1], at[0]]).setContent(el("span", null, name)));
      });
    }
    if (g.provinces && base.provinces) {
      L.geoJSON(base.provinces, {
        style: function () { return C.province; }, renderer: st.renderers.provinces,
        onEachFeature: function (f, ly) {
          ly.bindTooltip(function () { return el("span", null, T.fields.province + ": " + f.properties.name); },
            {sticky: true});
        }
      }).eachLayer(function (ly) { g.provinces.addLayer(ly); });
      // outlines clipped off the boundary line (server side), so the line is drawn once
      if (base.province_lines) {
        L.geoJSON(base.province_lines, {
          style: function () { return C.province_line; }, interactive: false,
          renderer: st.renderers.provinces
        }).eachLayer(function (ly) { g.provinces.addLayer(ly); });
      }
    }
    if (g.boundary && base.boundary) {
      L.geoJSON(base.boundary, {
        style: function () { return C.boundary; }, renderer: st.renderers.boundary,
        onEachFeature: function (f, ly) {
          var p = f.properties;
          ly.bindTooltip(function () { return el("span", null, st.cfg.lang === "vi" ? p.name_vi : (p.name_en || p.name_vi)); },
            {sticky: true});
        }
      }).eachLayer(function (ly) { g.boundary.addLayer(ly); });
    }
  }

  // -- markers, works, gates (progress and overview maps) ----------------------------------
  var RADIUS = {large: 6, medium: 4.5, small: 3.5, stake: 2.5};

  function markerPopup(st, r) {
    var F = st.cfg.labels.fields, T = st.cfg.labels.text, lang = st.cfg.lang;
    var due = r.due === 1 ? T.overdue_days.replace("{n}", fmtNum(r.days_overdue, lang))
      : (r.due === 2 ? T.never_inspected : "");
    var work = r.work === 2 ? T.work_stalled : (r.work === 1 ? T.work_present : "");
    return popupBox(F.number + ": " + r.number, [
      [F.border, lab(st, "border", r.border)],
      [F.province, r.province],
      [F.kind, lab(st, "kind", r.kind)],
      [F.construction_status, lab(st, "construction_status", r.status)],
      [F.condition, lab(st, "condition", r.condition), r.action ? "bm-warn" : null],
      [F.last_inspection, fmtDate(r.last_inspection, lang)],
      [F.inspection_due, due, r.due === 1 ? "bm-warn" : null],
      [F.works, work, r.work === 2 ? "bm-warn" : null]
    ], historyLink(st, "markers", {border: r.border, number: r.number}));
  }

  function drawMarkers(st, d) {
    var g = st.groups, C = st.cfg.colours, E = d.enums, T = st.cfg.labels;
    ["markers", "overdue", "never", "works", "stalled", "gates"].forEach(function (k) {
      if (g[k]) { g[k].clearLayers(); }
    });
    // rings (single markers) and per-section counts: updateDetail shows one or the other
    st.rings = {overdue: L.featureGroup(), never: L.featureGroup()};
    st.dueAgg = {overdue: L.featureGroup(), never: L.featureGroup()};
    st.labelled = {markers: [], gates: []};
    var n = 0, nOver = 0, nNever = 0;
    ["markers"].forEach(function (k) {
      if (g[k] && !g[k].getPopup()) {
        g[k].bindPopup(function (ly) { return markerPopup(st, ly.bienmoc); }, {maxWidth: 320});
        g[k].bindTooltip(function (ly) { return el("span", null, ly.bienmoc.number); });
      }
    });
    (d.markers ? d.markers.rows : []).forEach(function (row) {
      var r = {lon: row[0], lat: row[1], number: row[2], border: E.border[row[3]],
        province: E.province[row[4]], kind: E.kind[row[5]], status: E.construction_status[row[6]],
        condition: E.condition[row[7]], last_inspection: row[8], due: row[9],
        days_overdue: row[10], work: row[11]};
      r.action = Object.prototype.hasOwnProperty.call(C.condition, r.condition);
      var ll = [r.lat, r.lon], rad = RADIUS[r.kind] || 3.5;
      var cm = L.circleMarker(ll, {radius: rad, fillColor: C.status[r.status] || "#9e9e9e",
        fillOpacity: 0.9, color: r.action ? C.condition[r.condition] : "#333333",
        weight: r.action ? 3 : 0.6});
      cm.bienmoc = r;
      g.markers.addLayer(cm);
      st.labelled.markers.push({ll: L.latLng(ll), text: r.number});
      n++;
      var due = r.due === 1 ? "overdue" : (r.due === 2 ? "never" : null);
      if (due && g[due]) {
        // SVG (not the canvas): few, and each ring is an element tests and styles can find
        var ring = L.circleMarker(ll, {radius: rad + 4, fill: false, color: C[due],
          weight: 1.5, dashArray: due === "overdue" ? "3 3" : null, renderer: st.renderers.rings,
          className: "bm-ring bm-ring-" + due});
        ring.bienmoc = r;
        ring.bindPopup(function () { return markerPopup(st, r); }, {maxWidth: 320});
        st.rings[due].addLayer(ring);
        if (due === "overdue") { nOver++; } else { nNever++; }
      }
    });
    st.dueSections = d.due_sections || [];
    st.dueSize = null;
    ["overdue", "never"].forEach(function (k) {
      if (g[k]) { g[k].addLayer(st.rings[k]); g[k].addLayer(st.dueAgg[k]); }
    });
    var nWorks = 0, nStalled = 0;
    (d.works || []).forEach(function (w) {
      if (!w.geometry || !g.works) { return; }
      var col = C.work[w.status] || "#555555";
      var pop = function () {
        var F = T.fields, lang = st.cfg.lang;
        return popupBox(w.title, [
          [F.id, w.id], [F.work_kind, lab(st, "work_kind", w.kind)], [F.section, w.section],
          [F.border, lab(st, "border", w.border)], [F.province, w.province],
          [F.work_status, lab(st, "work_status", w.status), w.status === "stalled" ? "bm-warn" : null],
          [F.percent, fmtNum(w.percent, lang, 1) + " %"],
          [F.planned_end, fmtDate(w.planned_end, lang)],
          [F.last_update, fmtDate(w.last_update, lang)],
          [F.days_idle, w.days_idle === null ? "" : fmtNum(w.days_idle, lang)],
          [F.days_overdue, w.days_overdue ? fmtNum(w.days_overdue, lang) : ""],
          [F.budget, w.budget_planned_vnd === null ? "" : fmtNum(w.budget_planned_vnd, lang) + " đ"],
          [F.contractor, w.contractor]
        ], historyLink(st, "works/" + encodeURIComponent(w.id)));
      };
      var gj = L.geoJSON(w.geometry, {
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, {radius: 8, fillColor: col, fillOpacity: 0.85, color: "#222",
            weight: 1.5, bubblingMouseEvents: false});
        },
        style: function () { return {color: col, weight: 5, opacity: 0.85}; }
      });
      gj.eachLayer(function (ly) {
        ly.bindPopup(pop, {maxWidth: 340});
        ly.bindTooltip(function () { return el("span", null, w.title); });
        ly.bienmoc = w;
        g.works.addLayer(ly);
      });
      nWorks++;
      if (w.status === "stalled" && g.stalled) {
        L.geoJSON(w.geometry, {
          pointToLayer: function (f, ll) {
            return L.circleMarker(ll, {radius: 14, fill: false, color: C.stalled, weight: 4});
          },
          style: function () { return {color: C.stalled, weight: 11, opacity: 0.45}; }
        }).eachLayer(function (ly) { ly.bindPopup(pop, {maxWidth: 340}); g.stalled.addLayer(ly); });
        nStalled++;
      }
    });
    var nGates = 0;
    (d.gates || []).forEach(function (gt) {
      if (!g.gates) { return; }
      // shape by kind, fill/outline by status (maps.css); the legend uses the same classes
      var sym = el("span", "bm-gate bm-gk-" + (/^[a-z_]+$/.test(gt.kind) ? gt.kind : "other") +
        " bm-gs-" + (/^[a-z_]+$/.test(gt.status) ? gt.status : "other"));
      var ic = L.divIcon({className: "bm-gate-icon", html: sym, iconSize: [18, 18]});
      var mk = L.marker([gt.lat, gt.lon], {icon: ic, keyboard: false});
      mk.bindPopup(function () {
        var F = T.fields;
        return popupBox(gt.name + (gt.paired_gate ? " – " + gt.paired_gate : ""), [
          [F.gate_kind, lab(st, "gate_kind", gt.kind)], [F.gate_status, lab(st, "gate_status", gt.status)],
          [F.border, lab(st, "border", gt.border)], [F.province, gt.province]],
          gt.id ? historyLink(st, "gates/" + encodeURIComponent(gt.id)) : null);
      }, {maxWidth: 320});
      st.labelled.gates.push({ll: L.latLng(gt.lat, gt.lon), text: gt.name});
      mk.bindTooltip(function () { return el("span", null, gt.name); });
      mk.bienmoc = gt;
      g.gates.addLayer(mk);
      nGates++;
    });
    var nSections = 0;
    if (g.sections) {
      g.sections.clearLayers();
      L.geoJSON(d.sections || {type: "FeatureCollection", features: []}, {
        style: function (f) { return C.section[f.properties.status] || {color: "#555555", weight: 6}; },
        onEachFeature: function (f, ly) {
          var p = f.properties, F = T.fields, lang = st.cfg.lang;
          var status = lab(st, "demarcation", p.status);
          ly.bindPopup(function () {
            return popupBox(status, [
              [F.section_id, p.id], [F.border, lab(st, "border", p.border)],
              [F.province, p.province],
              [F.section_from_m, fmtNum(p.from_m, lang, 0)],
              [F.section_to_m, fmtNum(p.to_m, lang, 0)],
              [F.section_document, p.document]]);
          }, {maxWidth: 340});
          ly.bindTooltip(function () { return el("span", null, status); });
          ly.bienmoc = p;
          nSections++;
        }
      }).eachLayer(function (ly) { g.sections.addLayer(ly); });
    }
    st.stats.sections = nSections;
    st.stats.markers = n;
    st.stats.overdue = nOver;
    st.stats.never_inspected = nNever;
    st.stats.works = nWorks;
    st.stats.stalled = nStalled;
    st.stats.gates = nGates;
    updateDetail(st);
  }

  // -- detail by zoom: rings or per-section counts; marker and gate labels ------------------
  function labelsIn(st, items, layer, cls, max) {
    layer.clearLayers();
    var b = st.map.getBounds().pad(0.2), k = 0;
    for (var i = 0; i < items.length && k < max; i++) {
      if (!b.contains(items[i].ll)) { continue; }
      layer.addLayer(L.tooltip({permanent: true, direction: "right", offset: [6, 0],
        interactive: false, className: "bm-label " + cls}).setLatLng(items[i].ll)
        .setContent(el("span", null, items[i].text)));
      k++;
    }
    return k;
  }
  // counts of due markers per section of line, for the section length of this zoom
  function drawDue(st, rows) {
    var g = st.groups, T = st.cfg.labels.text, lang = st.cfg.lang;
    st.dueAgg.overdue.clearLayers();
    st.dueAgg.never.clearLayers();
    rows.forEach(function (s) {
      [["overdue", s[2]], ["never", s[3]]].forEach(function (p) {
        if (!p[1] || !g[p[0]]) { return; }
        var inner = el("span", null, fmtNum(p[1], lang));
        var mk = L.marker([s[1], s[0]], {icon: L.divIcon({html: inner, iconSize: [26, 26],
          className: "bm-due-agg bm-due-" + p[0]}), keyboard: false});
        var where = s[5] === null ? "" : " · " + T.due_section.replace("{a}", fmtNum(s[5], lang))
          .replace("{b}", fmtNum(s[6], lang));
        mk.bindTooltip(function () {
          return el("span", null, T["due_" + p[0]].replace("{n}", fmtNum(p[1], lang)) + where +
            " (" + T.zoom_in + ")");
        });
        mk.on("click", function () {
          st.map.setView([s[1], s[0]], Math.min(st.map.getZoom() + 2, st.cfg.zooms.rings));
        });
        st.dueAgg[p[0]].addLayer(mk);
      });
    });
  }
  function sectionSize(st) {
    // metres per pixel at the view's latitude (Web Mercator, 256 px tiles)
    var z = st.map.getZoom(), lat = st.map.getCenter().lat * Math.PI / 180;
    var mpp = 40075016.686 * Math.cos(lat) / (256 * Math.pow(2, z));
    for (var i = 0; i < st.dueSections.length; i++) {
      if (st.dueSections[i][0] * 1000 / mpp >= st.cfg.zooms.section_px) { return i; }
    }
    return st.dueSections.length - 1;
  }
  function updateDetail(st) {
    if (!st.rings) { return; }
    var g = st.groups, z = st.map.getZoom(), Z = st.cfg.zooms, near = z >= Z.rings;
    ["overdue", "never"].forEach(function (k) {
      if (!g[k]) { return; }
      if (near) {
        g[k].removeLayer(st.dueAgg[k]);
        g[k].addLayer(st.rings[k]);
      } else {
        g[k].removeLayer(st.rings[k]);
        g[k].addLayer(st.dueAgg[k]);
      }
    });
    if (!near && st.dueSections.length) {
      var i = sectionSize(st);
      if (i !== st.dueSize) { st.dueSize = i; drawDue(st, st.dueSections[i][1]); }
      st.stats.section_km = st.dueSections[i][0];
    }
    st.stats.detail = near ? "rings" : "sections";
    var on = function (k) { return g[k] && st.map.hasLayer(g[k]); };
    st.stats.marker_labels = (z >= Z.marker_labels && on("markers"))
      ? labelsIn(st, st.labelled.markers, st.labels.markers, "bm-label-marker", 600)
      : labelsIn(st, [], st.labels.markers, "", 0);
    st.stats.gate_labels = (z >= Z.gate_labels && on("gates"))
      ? labelsIn(st, st.labelled.gates, st.labels.gates, "bm-label-gate", 300)
      : labelsIn(st, [], st.labels.gates, "", 0);
  }

  // -- incidents: clusters, per-view cells, heat ---------------------------------------------
  function incidentPopup(st, r) {
    var F = st.cfg.labels.fields, lang = st.cfg.lang;
    var side = r.side ? lab(st, "side", r.side) : (r.side === "" ? st.cfg.labels.text.on_line : "");
    return popupBox(lab(st, "incident_kind", r.kind), [
      [F.id, r.id], [F.incident_status, lab(st, "incident_status", r.status)],
      [F.border, lab(st, "border", r.border)], [F.province, r.province],
      [F.reported_date, fmtDate(r.reported, lang)], [F.occurred_date, fmtDate(r.occurred, lang)],
      [F.side, side], [F.location, r.location], [F.description, r.description, "bm-desc"]
    ], historyLink(st, "incidents/" + encodeURIComponent(r.id)));
  }

  function initIncidents(st) {
    var g = st.groups;
    st.filters = {kind: null, status: null};
    st.cluster = L.markerClusterGroup({chunkedLoading: true, showCoverageOnHover: false,
      maxClusterRadius: 45, spiderfyDistanceMultiplier: 1.4});
    st.cluster.bindPopup(function (ly) { return incidentPopup(st, ly.bienmoc); }, {maxWidth: 360});
    st.cells = L.featureGroup();
    if (g.incidents) { g.incidents.addLayer(st.cluster); g.incidents.addLayer(st.cells); }
    st.heat = L.heatLayer([], {radius: 18, blur: 15, minOpacity: 0.35, maxZoom: 12});
    if (g.heat) { g.heat.addLayer(st.heat); }
    // the legend's check boxes filter kinds and statuses
    var boxes = document.querySelectorAll("input[data-bm-map='" + st.id + "'][data-bm-filter]");
    function readFilters() {
      var f = {kind: [], status: []}, all = {kind: true, status: true};
      Array.prototype.forEach.call(boxes, function (b) {
        var k = b.getAttribute("data-bm-filter");
        if (b.checked) { f[k].push(b.value); } else { all[k] = false; }
      });
      st.filters = {kind: all.kind ? null : f.kind, status: all.status ? null : f.status};
    }
    Array.prototype.forEach.call(boxes, function (b) {
      b.addEventListener("change", function () { readFilters(); st.reload(true); });
    });
    readFilters();
    var timer = null;
    st.map.on("moveend", function () {
      if (st.complete) { return; }   // everything for these filters is already here
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(function () { st.reload(false); }, 150);
    });
  }

  function keep(st, kind, status) {
    var f = st.filters;
    return (!f.kind || f.kind.indexOf(kind) >= 0) && (!f.status || f.status.indexOf(status) >= 0);
  }

  function drawIncidents(st, d) {
    var C = st.cfg.colours, E = d.enums;
    st.cluster.clearLayers();
    st.cells.clearLayers();
    st.complete = !!d.complete;
    var heat = [], list = [];
    if (d.mode === "cells") {
      var maxc = 1, half = d.cell_deg / 2;
      d.cells.forEach(function (c) { if (c[2] > maxc) { maxc = c[2]; } });
      d.cells.forEach(function (c) {
        var n = c[2], size = n < 100 ? "small" : (n < 1000 ? "medium" : "large");
        var inner = el("div");
        inner.appendChild(el("span", null, fmtNum(n, st.cfg.lang)));
        var mk = L.marker([c[1], c[0]], {icon: L.divIcon({html: inner,
          className: "marker-cluster marker-cluster-" + size, iconSize: L.point(40, 40)})});
        mk.on("click", function () {
          st.map.fitBounds([[c[4] - half, c[3] - half], [c[4] + half, c[3] + half]]);
        });
        st.cells.addLayer(mk);
        heat.push([c[1], c[0], n]);
      });
      st.heat.setOptions({max: Math.max(1, maxc / 4)});
      st.stats.cells = d.cells.length;
      st.stats.incidents = 0;
    } else {
      d.points.rows.forEach(function (row) {
        var r = {lon: row[0], lat: row[1], id: row[2], kind: E.kind[row[3]], status: E.status[row[4]],
          border: E.border[row[5]], province: E.province[row[6]], reported: row[7], occurred: row[8],
          side: row[9], location: row[10], description: row[11]};
        if (!keep(st, r.kind, r.status)) { return; }
        var cm = L.circleMarker([r.lat, r.lon], {radius: 6, fillColor: C.incident[r.status] || "#666",
          fillOpacity: 0.9, color: "#222", weight: 1});
        cm.bienmoc = r;
        list.push(cm);
        heat.push([r.lat, r.lon, 1]);
      });
      st.cluster.addLayers(list);
      st.heat.setOptions({max: 3});
      st.stats.cells = 0;
      st.stats.incidents = list.length;
    }
    st.heat.setLatLngs(heat);
    st.stats.total = d.total;
    st.stats.mode = d.mode;
    if (st.statusBox) {
      st.statusBox.textContent = st.cfg.labels.text.count.replace("{n}", fmtNum(d.total, st.cfg.lang));
    }
  }

  function viewParams(st) {
    // the padded view, rounded outwards to a grid so that responses repeat (HTTP/server cache)
    var z = st.map.getZoom(), b = st.map.getBounds().pad(0.3);
    var step = Math.max(0.01, 90 / Math.pow(2, z));
    function dn(x) { return (Math.floor(x / step) * step).toFixed(4); }
    function up(x) { return (Math.ceil(x / step) * step).toFixed(4); }
    return {zoom: z, bbox: [dn(b.getWest()), dn(b.getSouth()), up(b.getEast()), up(b.getNorth())].join(",")};
  }

  // -- entry point ---------------------------------------------------------------------------
  B.map = function (map, groups, cfg) {
    var st = {id: cfg.id, map: map, groups: groups, cfg: cfg, busy: 0,
      stats: {errors: [], kind: cfg.kind}};
    B.maps.push(st);
    // provinces below the boundary line (one line, drawn above the clipped outlines)
    [["bmProvinces", 380], ["bmBoundary", 390]].forEach(function (p) {
      if (!map.getPane(p[0])) { map.createPane(p[0]).style.zIndex = String(p[1]); }
    });
    st.renderers = {provinces: L.canvas({pane: "bmProvinces"}),
      boundary: L.canvas({pane: "bmBoundary"}), rings: L.svg()};
    L.control.scale({imperial: false, metric: true}).addTo(map);
    st.labels = {markers: L.layerGroup().addTo(map), gates: L.layerGroup().addTo(map)};
    map.on("zoomend moveend overlayadd overlayremove", function () { updateDetail(st); });
    // the popup element of one of this map's layers (tests and scripts)
    st.popupFor = function (ly) {
      var owners = [ly, st.cluster].concat(Object.keys(groups).map(function (k) { return groups[k]; }));
      for (var i = 0; i < owners.length; i++) {
        var o = owners[i];
        if (o && o.getPopup && o.getPopup() && (o === ly || o.hasLayer(ly))) {
          var c = o.getPopup()._content;
          return typeof c === "function" ? c(ly) : c;
        }
      }
      return null;
    };
    if (cfg.status_box) {
      var ctl = L.control({position: "bottomright"});
      ctl.onAdd = function () { st.statusBox = el("div", "bm-status", ""); return st.statusBox; };
      ctl.addTo(map);
    }
    if (cfg.base) { load(st, cfg.base, {}, function (d) { drawBase(st, d); }); }
    if (cfg.kind === "incidents") {
      initIncidents(st);
      st.reload = function () {
        var params = viewParams(st);
        if (st.filters.kind) { params.kind = st.filters.kind.join(","); }
        if (st.filters.status) { params.status = st.filters.status.join(","); }
        if (cfg.source.data) { params = {}; }
        return load(st, cfg.source, params, function (d) { drawIncidents(st, d); });
      };
      st.reload(true);
    } else if (cfg.source) {
      load(st, cfg.source, {}, function (d) { drawMarkers(st, d); });
    }
    return st;
  };
  B.formatDate = fmtDate;
})(window, document);
