/* The API page: start Swagger UI (served from this site) on the live description.
 * A static file, so the page needs no inline script under the Content-Security-Policy. */
(function () {
  "use strict";
  var holder = document.getElementById("api-description");
  if (!holder || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: holder.getAttribute("data-url"),
    domNode: holder,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: false,
    // The validator badge would load an image from swagger.io: nothing leaves this site.
    validatorUrl: null,
    // Swagger UI's server list is a <select> inside an empty <label>: give it a name.
    onComplete: function () {
      var servers = holder.querySelector(".servers select");
      if (servers) {
        servers.setAttribute("aria-label", "Server");
      }
    },
    // Sent with the session's cookie: the description is read as the signed-in user.
    requestInterceptor: function (request) {
      request.credentials = "same-origin";
      return request;
    }
  });
}());
