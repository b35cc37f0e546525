// The case page's small map: one pin at the case's location (Leaflet, vendored).
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("minimap");
    if (!el || typeof L === "undefined") return;
    var lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 17);
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
    var icon = L.divIcon({
      className: "",
      html: '<div class="pin"></div>',
      iconSize: [16, 16],
      iconAnchor: [8, 8],
    });
    var marker = L.marker([lat, lon], { icon: icon, keyboard: false }).addTo(map);
    var pin = marker.getElement() && marker.getElement().querySelector(".pin");
    if (pin) pin.style.background = el.dataset.colour || "#1d5fa8";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
