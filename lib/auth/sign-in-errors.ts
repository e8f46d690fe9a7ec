import { OIDC_DISABLED_ERROR, OIDC_NO_ROLE_ERROR } from "./oidc-errors";

// Messages for the ?error= codes that a failed single sign-on brings back
// to the login page. Only fixed texts are shown: the query string comes from
// a redirect that anyone can forge, so its error_description is ignored.

const messages: Record<string, string> = {
  [OIDC_NO_ROLE_ERROR]:
    "Your identity provider account is in none of the groups that give access " +
    "to this console. Ask an admin to add you to one of the groups in OIDC_ROLE_MAP.",
  [OIDC_DISABLED_ERROR]: "This account is disabled. Ask a console admin to enable it again.",
  BANNED_USER: "This account is disabled. Ask a console admin to enable it again.",
  account_not_linked:
    "A console account with this email already signs in with a password. " +
    "Sign in with the password instead, or ask an admin.",
  access_denied: "The identity provider did not allow the sign-in.",
  email_not_found: "The identity provider sent no email address for your account.",
};

/** Returns the message for a single sign-on error code from the login URL. */
export function describeSingleSignOnError(code: string): string {
  const known = messages[code];
  if (known) return known;

  // Only a plain code is repeated, never arbitrary text from the URL.
  const codeSuffix = /^[A-Za-z0-9_.-]{1,60}$/.test(code) ? ` (${code})` : "";
  return `Single sign-on failed${codeSuffix}. Try again, or ask an admin to check the console's log.`;
}
