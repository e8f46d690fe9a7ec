import { defineConfig } from "drizzle-kit";

// drizzle-kit only generates SQL here (`npm run db:generate`). Migrations are
// applied by `npm run db:migrate`, which works for Postgres and PGlite alike.
export default defineConfig({
  dialect: "postgresql",
  schema: "./lib/db/schema.ts",
  out: "./drizzle",
});
