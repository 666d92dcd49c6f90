// `npm run sandbox`: the MX sandbox on MX_SANDBOX_PORT (default 4010) until SIGINT/SIGTERM.
import "../polyfills";
import * as z from "zod";
import { startSandbox } from "./index";
import { knobsPatchFromEnv } from "./knobs";

function config() {
  const env = z
    .object({
      MX_SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(4010),
      MX_SANDBOX_HOST: z.string().min(1).default("127.0.0.1"),
      MX_SANDBOX_SEED: z.coerce.number().int().optional(),
    })
    .safeParse(process.env);
  if (!env.success) {
    const detail = env.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid MX sandbox environment: ${detail}`);
  }
  return { ...env.data, knobs: knobsPatchFromEnv(process.env) };
}

async function main(): Promise<void> {
  const { MX_SANDBOX_PORT, MX_SANDBOX_HOST, MX_SANDBOX_SEED, knobs } = config();
  const sandbox = await startSandbox({
    port: MX_SANDBOX_PORT,
    host: MX_SANDBOX_HOST,
    ...(MX_SANDBOX_SEED === undefined ? {} : { seed: MX_SANDBOX_SEED }),
    ...knobs,
  });
  // The client id is not a secret; the API key is never printed.
  console.log(`MX sandbox listening on ${sandbox.url}`);
  console.log(`  MX_BASE_URL=${sandbox.url}`);
  console.log(`  client id: ${sandbox.clientId} (API key from MX_API_KEY, or the documented default)`);
  const { webhooks, ...rest } = sandbox.knobs;
  // The webhook password is a secret like the API key: never printed.
  console.log(`  knobs: ${JSON.stringify({ ...rest, webhooks: { ...webhooks, password: "(hidden)" } })}`);
  const stop = () => {
    sandbox.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
