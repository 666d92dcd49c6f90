// CDK entry (cdk.json "app"): `npm run synth`, `npx cdk deploy`. The deploy options (`-c key=value`) are
// listed once, in infra/context.ts (and the table of infra/README.md).
import { buildApp } from "./build";

buildApp().app.synth();
