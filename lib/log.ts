import pino from "pino";

/**
 * The console's structured logger. Child loggers carry ids (host, project,
 * instance, operation, user) as fields; messages never carry secrets.
 */
export const log = pino({
  level: process.env.LOG_LEVEL ?? "info",
  base: { service: "sandbox-console" },
  redact: {
    paths: ["*.password", "*.key", "*.token", "*.secret", "*.cookie"],
    censor: "[redacted]",
  },
});
