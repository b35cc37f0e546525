// The map page: cases as pins coloured by state, clustered; filters reload the GeoJSON.
(function () {
  "use strict";

  function words() {
    var el = document.getElementById("map-words");
    return el ? JSON.parse(el.textContent) : {};
  }

  function pinIcon(colour) {
    var div = document.createElement("div");
    div.className = "pin";
    div.style.background = colour;
    return L.divIcon({ className: "", html: div, iconSize: [16, 16], iconAnchor: [8, 8] });
  }

  // Popup built from DOM nodes with textContent: case text is never parsed as HTML.
  function popup(props, w) {
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = props.number + " · " + props.status_label + (props.overdue ? " · " + w.overdue : "");
    box.appendChild(title);
    [props.category, props.address, props.description].forEach(function (text) {
      if (!text) return;
      var p = document.createElement("div");
      p.textContent = text;
      box.appendChild(p);
    });
    var a = document.createElement("a");
    a.href = props.url;
    a.textContent = w.open;
    box.appendChild(a);
    return box;
  }

  function init() {
    var el = document.getElementById("map");
    if (!el || typeof L === "undefined") return;
    var w = words();
    document.querySelectorAll(".legend .swatch").forEach(function (s) {
      s.style.background = s.dataset.colour;
    });
    var map = L.map(el).setView([35.0, 105.0], 4);
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
    var cluster = L.markerClusterGroup({ maxClusterRadius: 50 });
    map.addLayer(cluster);
    var count = document.getElementById("map-count");

    function load(query) {
      var url = el.dataset.geojson + (query ? "?" + query : "");
      el.setAttribute("aria-busy", "true");
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) {
          if (!r.ok) throw new Error(String(r.status));
          return r.json();
        })
        .then(function (data) {
          cluster.clearLayers();
          var markers = data.features.map(function (f) {
            var c = f.geometry.coordinates;
            var m = L.marker([c[1], c[0]], { icon: pinIcon(f.properties.colour), title: f.properties.number });
            m.bindPopup(popup(f.properties, w));
            return m;
          });
          cluster.addLayers(markers);
          var text = w.count.replace("{n}", String(data.features.length));
          if (data.truncated) text += " " + w.truncated;
          count.textContent = text;
          if (markers.length) {
            map.fitBounds(cluster.getBounds(), { padding: [30, 30], maxZoom: 17 });
          }
          el.dataset.loaded = String(data.features.length);
        })
        .catch(function () {
          count.textContent = w.failed;
        })
        .finally(function () {
          el.removeAttribute("aria-busy");
        });
    }

    var form = document.getElementById("map-filters");
    function queryOf() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (value) params.append(key, value);
      });
      return params.toString();
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = queryOf();
      history.replaceState(null, "", "/admin/map" + (q ? "?" + q : ""));
      load(q);
    });
    form.addEventListener("change", function () {
      form.requestSubmit();
    });
    load(el.dataset.query);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
