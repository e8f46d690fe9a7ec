// Error codes of rejected OpenID Connect sign-ins. Better Auth redirects to
// the login page with the code in ?error=, and the page explains it.

/** None of the user's groups maps to a console role. */
export const OIDC_NO_ROLE_ERROR = "no_console_role";
/** The user's console account is disabled. */
export const OIDC_DISABLED_ERROR = "account_disabled";
