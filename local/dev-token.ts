// `npm run -s dev-token -- <user-id> [--ttl <seconds>]`: prints a JWT from the local development issuer, and
// nothing else, so `TOKEN=$(npm run -s dev-token -- alice)` works. The signing key is the development-only key
// in `.local/` (or DEV_JWT_KEY_FILE) that `npm start` trusts; it means nothing to a deployed API.
import "./polyfills";
import { parseArgs } from "node:util";
import * as z from "zod";
import { createDevIssuer } from "./api/jwt";

const usage = "usage: npm run -s dev-token -- <user-id> [--ttl <seconds>]";

const argsSchema = z.object({
  userId: z
    .string({ error: "a user id is required" })
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._@-]+$/, "a user id may hold letters, digits and . _ @ - only"),
  ttlSeconds: z.coerce.number().int().min(1).max(86_400).default(3600),
  keyFile: z.string().min(1).optional(),
});

async function main(): Promise<void> {
  let parsed: z.infer<typeof argsSchema>;
  try {
    const { values, positionals } = parseArgs({
      args: process.argv.slice(2),
      options: { ttl: { type: "string" } },
      allowPositionals: true,
    });
    if (positionals.length > 1) throw new Error("one user id only");
    parsed = argsSchema.parse({
      userId: positionals[0],
      ttlSeconds: values.ttl,
      keyFile: process.env.DEV_JWT_KEY_FILE || undefined,
    });
  } catch (error) {
    const message =
      error instanceof z.ZodError ? error.issues.map((i) => i.message).join("; ") : (error as Error).message;
    process.stderr.write(`${message}\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  const issuer = await createDevIssuer(parsed.keyFile ? { keyFile: parsed.keyFile } : {});
  process.stdout.write(`${await issuer.issueDevToken(parsed.userId, { ttlSeconds: parsed.ttlSeconds })}\n`);
}

await main();
