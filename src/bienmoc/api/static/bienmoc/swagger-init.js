// Starts Swagger UI on /docs from the vendored bundle (no inline script, so the page's
// Content-Security-Policy needs no hash, no CDN and no 'unsafe-inline' for scripts).
// The OpenAPI document's URL comes from the page: <div id="swagger-ui" data-url="…">.
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: box.getAttribute("data-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
}());
