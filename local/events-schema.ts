// Writes the JSON Schema of the app events (shared/events/schemas.ts) to docs/events.schema.json, the file
// client apps read; test/events.test.ts fails when the committed file and the schemas differ.
//   npx tsx local/events-schema.ts [path]
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { eventsJsonSchema } from "../shared/events/schemas";

export const EVENTS_SCHEMA_PATH = fileURLToPath(new URL("../docs/events.schema.json", import.meta.url));

/** The file's text (Biome may reflow it; the test compares the JSON, not the layout). */
export const eventsSchemaText = () => `${JSON.stringify(eventsJsonSchema(), null, 2)}\n`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = process.argv[2] ?? EVENTS_SCHEMA_PATH;
  writeFileSync(path, eventsSchemaText());
  console.log(`wrote ${path}`);
}
