import { z } from "zod";
import { instanceNameSchema, projectNameSchema } from "@/lib/lxd";

/** Zod schema of an instance address, shared by actions and route handlers. */
export const instanceKeySchema = z.object({
  host: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}$/, "Host ids are lowercase letters, digits and hyphens"),
  project: projectNameSchema,
  name: instanceNameSchema,
});
