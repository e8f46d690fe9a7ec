// Helpers for the redirect after sign-in, kept free of server imports because
// the login form uses them too.

/** The request header in which proxy.ts passes the page's path and query. */
export const REQUEST_PATH_HEADER = "x-sandbox-console-path";

/**
 * Returns `value` if it is a path on this site ("/instances?host=a"), else
 * "/". This rejects absolute URLs, protocol-relative "//host" and "/\host"
 * forms, and the login page itself, so a crafted `next` link cannot send a
 * user to another site or into a redirect loop.
 */
export function safeNextPath(value: string | null | undefined): string {
  if (!value || !value.startsWith("/")) return "/";
  if (value.startsWith("//") || value.startsWith("/\\")) return "/";
  if (/[\u0000-\u001f\u007f]/.test(value)) return "/";

  const base = "http://console.invalid";
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    return "/";
  }

  if (url.origin !== base) return "/";
  if (url.pathname === "/login" || url.pathname.startsWith("/login/"))
    return "/";
  return `${url.pathname}${url.search}${url.hash}`;
}
