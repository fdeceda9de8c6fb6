// Passkeys (2-3, Q21): runs the WebAuthn ceremony a page asks for, then posts its answer.
//
// The page's contract (CSP allows no inline script, so everything is data):
//   <script type="application/json" id="webauthn-challenge">…</script>
//       the challenge the server started: {"publicKey": {…}, "mediation"?: "conditional"},
//       binary fields in base64url, exactly as kenpo_idp::flows::mfa::passkey returns it.
//   <form data-webauthn="register | authenticate | sign-in"> with
//       <input type="hidden" name="webauthn">
//   Submitting that form (its button, or Enter) runs navigator.credentials.create (register)
//   or .get (authenticate, sign-in) first, writes the credential as JSON into the hidden field
//   and then submits. If the browser refuses or the member cancels, the field holds
//   {"error": "<DOMException name>"} and the form is submitted all the same: the server shows
//   「セキュリティキーの登録が無効です」 or the sign-in message, never a broken page. A form whose
//   field already holds an answer (the page came back for another label) submits as it is.
//   sign-in: where the browser offers conditional mediation, the ceremony also starts at load,
//   for the autofill of an input with autocomplete="username webauthn"; using the form's
//   button aborts it and asks in a dialog instead. Without WebAuthn, sign-in forms are hidden.
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(binary, function (c) { return c.charCodeAt(0); }).buffer;
  }

  function toBase64url(buffer) {
    var binary = String.fromCharCode.apply(null, new Uint8Array(buffer));
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Browsers reject null where a dictionary member is optional: leave such members out.
  function withoutNulls(value) {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value === null || typeof value !== "object") return value;
    var out = {};
    Object.keys(value).forEach(function (key) {
      if (value[key] !== null) out[key] = withoutNulls(value[key]);
    });
    return out;
  }

  function decodeIds(list) {
    (list || []).forEach(function (c) { c.id = toBytes(c.id); });
  }

  function creationOptions(challenge) {
    var publicKey = withoutNulls(challenge.publicKey);
    publicKey.challenge = toBytes(publicKey.challenge);
    publicKey.user.id = toBytes(publicKey.user.id);
    decodeIds(publicKey.excludeCredentials);
    return { publicKey: publicKey };
  }

  function requestOptions(challenge) {
    var publicKey = withoutNulls(challenge.publicKey);
    publicKey.challenge = toBytes(publicKey.challenge);
    decodeIds(publicKey.allowCredentials);
    return { publicKey: publicKey };
  }

  // The credential as webauthn-rs reads it (RegisterPublicKeyCredential, PublicKeyCredential).
  function credentialJson(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
    }
    var results = credential.getClientExtensionResults ? credential.getClientExtensionResults() : {};
    return JSON.stringify({
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      extensions: results.credProps ? { credProps: results.credProps } : {}
    });
  }

  function post(form, answer) {
    form.elements.webauthn.value = answer;
    form.submit();
  }

  function failed(error) {
    return JSON.stringify({ error: (error && error.name) || "Error" });
  }

  var script = document.getElementById("webauthn-challenge");
  var forms = document.querySelectorAll("form[data-webauthn]");
  if (!script || forms.length === 0) return;
  var challenge = JSON.parse(script.textContent);
  var supported = !!(window.PublicKeyCredential && navigator.credentials);
  var conditional = null; // the AbortController of a pending autofill request
  var pending = Promise.resolve(); // settles once that request has ended

  function ceremony(kind, extra) {
    if (!supported) return Promise.reject(new DOMException("WebAuthn unavailable", "NotSupportedError"));
    if (kind === "register") return navigator.credentials.create(creationOptions(challenge));
    var options = requestOptions(challenge);
    Object.keys(extra || {}).forEach(function (key) { options[key] = extra[key]; });
    return navigator.credentials.get(options);
  }

  Array.prototype.forEach.call(forms, function (form) {
    var kind = form.getAttribute("data-webauthn");
    if (kind === "sign-in" && !supported) form.hidden = true;
    form.addEventListener("submit", function (event) {
      if (form.elements.webauthn.value) return;
      event.preventDefault();
      if (conditional) conditional.abort();
      conditional = null;
      // A browser allows one request at a time: the aborted one must end first.
      pending.then(function () { return ceremony(kind); }).then(
        function (credential) { post(form, credentialJson(credential)); },
        function (error) { post(form, failed(error)); }
      );
    });
    if (kind === "sign-in" && supported && challenge.mediation === "conditional" &&
        PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) return;
        conditional = new AbortController();
        pending = ceremony(kind, { mediation: "conditional", signal: conditional.signal }).then(
          function (credential) { post(form, credentialJson(credential)); },
          function () { /* aborted for the button, or dismissed: nothing to show */ }
        );
      });
    }
  });
})();
