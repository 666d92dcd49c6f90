// How every Lambda is bundled (esbuild through NodejsFunction), in one place: MxFunction deploys with it
// and `npm run bench` (local/bench/cold-start.ts) builds the same bundles to weigh and time them.
import { type BundlingOptions, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";

/**
 * The bundle is ESM; some dependencies are CommonJS and call `require`, which ESM lacks, so the banner
 * recreates it (esbuild's own shim would throw "Dynamic require … is not supported").
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __mxCreateRequire } from 'node:module'; const require = __mxCreateRequire(import.meta.url);";

/** Minified ESM for Node.js 22 with source maps (without the sources: smaller, the stack traces suffice). */
export const LAMBDA_BUNDLING = {
  format: OutputFormat.ESM,
  target: "node22",
  // ESM builds first: they tree-shake (the AWS SDK's `module` entries drop what a client does not use).
  mainFields: ["module", "main"],
  banner: ESM_REQUIRE_BANNER,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // Bundle the AWS SDK too: the versions tested are the versions deployed (the runtime's copy lags), and
  // loading it from the runtime measured slower.
  externalModules: [],
} satisfies BundlingOptions;
