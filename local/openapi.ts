// Prints the Connect API's OpenAPI description, or writes it to the file named by the first argument:
//   npx tsx local/openapi.ts               (stdout)
//   npx tsx local/openapi.ts openapi.json
import "./polyfills";
import { writeFile } from "node:fs/promises";
import { buildOpenApiDocument } from "../shared/api/openapi";

const out = process.argv[2];
const text = `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
if (out) {
  await writeFile(out, text);
  process.stderr.write(`Wrote ${out}\n`);
} else {
  process.stdout.write(text);
}
