//! Black-box conformance suites; the OpenID modules arrive with the OIDC core.
