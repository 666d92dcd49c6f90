// CDK entry (cdk.json "app"): `npm run synth`, `npx cdk deploy`.
// Context: -c mxBaseUrl=https://api.mx.com (production MX), -c customerManagedKey=true,
// -c redirectAllowList=https://app.example.com/connected,… and the API's jwtIssuer/jwtAudience,
// -c extendedHistory=true (first syncs ask MX for up to 24 months of transactions).
import { buildApp } from "./build";

buildApp().app.synth();
