import { toNextJsHandler } from "better-auth/next-js";
import { getAuth } from "@/lib/auth/auth";

// Better Auth's endpoints (sign-in, sign-out, get-session, ...). The handler
// is built per request so that importing this module during `next build`
// does not open the database.
const handle = (request: Request) => getAuth().handler(request);

export const { GET, POST } = toNextJsHandler(handle);
