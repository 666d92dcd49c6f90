// Every documented deploy option synthesizes (issue #11): the stack is built through buildApp() with each
// option of infra/context.ts at its example value (with the options it needs), then with all of them at
// once, with cdk-nag's packs on; each synth has 0 unacknowledged findings (errors and warnings) and shows the
// option in the template. The README documents exactly these options. cfn-lint (a Python tool) lints every
// template when it is on PATH; CI has no Python, so there the check is skipped and says so.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildApp, SKIP_BUNDLING, STACK_NAME } from "../infra/build";
import { CONTEXT_OPTIONS, type ContextOption, type ContextOptionName } from "../infra/context";

type Resource = { Type: string; Properties: Record<string, unknown> };
type Resources = Record<string, Resource>;

// What the CDK CLI sets for every synth (from AWS_REGION or the profile, else us-east-1).
const REGION = "eu-west-1";
const options: readonly ContextOption[] = CONTEXT_OPTIONS;
const optionNamed = (name: ContextOptionName): ContextOption => {
  const option = options.find((candidate) => candidate.name === name);
  if (!option) throw new Error(`no option ${name}`);
  return option;
};
const example = (name: ContextOptionName): string => optionNamed(name).example;

/** The option at its example value, with the options it needs. */
function contextFor(option: ContextOption): Record<string, string> {
  const names = [option.name, ...(option.requires ?? [])];
  return Object.fromEntries(
    options.filter(({ name }) => names.includes(name)).map(({ name, example }) => [name, example]),
  );
}

/** All options at once, but for jwtIssuer/jwtAudience: they replace the user pool the others configure. */
const ALL_TOGETHER = Object.fromEntries(
  options.filter(({ name }) => !name.startsWith("jwt")).map(({ name, example }) => [name, example]),
);

const outdirs: string[] = [];

/**
 * Synthesizes through buildApp() with the nag packs registered: synth throws on any finding nobody
 * acknowledged, error or warning (a pack reports success only without violations).
 */
function synth(context: Record<string, string>) {
  const outdir = mkdtempSync(join(tmpdir(), "mx-deploy-options-"));
  outdirs.push(outdir);
  const { app } = buildApp({ context: { ...SKIP_BUNDLING, ...context }, outdir });
  const templateFile = join(outdir, app.synth().getStackByName(STACK_NAME).templateFile);
  const template = Template.fromJSON(JSON.parse(readFileSync(templateFile, "utf8")));
  return { resources: template.toJSON().Resources as Resources, templateFile };
}

const ofType = (resources: Resources, type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type);
const variables = (resources: Resources, name: string): unknown[] =>
  ofType(resources, "AWS::Lambda::Function")
    .map(([, fn]) => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables[name])
    .filter((value) => value !== undefined);
const onlyOne = (resources: Resources, type: string): Resource => {
  const found = ofType(resources, type);
  expect(
    found.map(([id]) => id),
    type,
  ).toHaveLength(1);
  return (found[0] as [string, Resource])[1];
};

/** What each option shows in the template (a documented option without a check here fails the test). */
const SHOWS: Record<ContextOptionName, (resources: Resources) => void> = {
  mxBaseUrl: (r) => {
    expect(new Set(variables(r, "MX_BASE_URL"))).toEqual(new Set([example("mxBaseUrl")]));
  },
  customerManagedKey: (r) => {
    const [[keyId, key] = []] = ofType(r, "AWS::KMS::Key").filter(([id]) => id.startsWith("DataTableKey"));
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    expect(onlyOne(r, "AWS::DynamoDB::GlobalTable").Properties).toMatchObject({
      SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
      Replicas: [{ Region: REGION, SSESpecification: { KMSMasterKeyId: { "Fn::GetAtt": [keyId, "Arn"] } } }],
    });
  },
  redirectAllowList: (r) => {
    expect(variables(r, "REDIRECT_ALLOW_LIST")).toContain(example("redirectAllowList"));
  },
  transactionPageConcurrency: (r) => {
    const definition = JSON.stringify(onlyOne(r, "AWS::StepFunctions::StateMachine").Properties);
    expect(definition).toContain(`\\"MaxConcurrency\\":${example("transactionPageConcurrency")}`);
  },
  extendedHistory: (r) => {
    expect(new Set(variables(r, "EXTENDED_HISTORY"))).toEqual(new Set(["true"]));
  },
  sweepEveryHours: (r) => {
    expect(onlyOne(r, "AWS::Scheduler::Schedule").Properties.ScheduleExpression).toBe(
      `rate(${example("sweepEveryHours")} hours)`,
    );
  },
  changeRetentionDays: (r) => {
    expect(new Set(variables(r, "CHANGE_RETENTION_DAYS"))).toEqual(new Set([example("changeRetentionDays")]));
  },
  corsOrigins: (r) => {
    expect(onlyOne(r, "AWS::ApiGatewayV2::Api").Properties.CorsConfiguration).toMatchObject({
      AllowOrigins: [example("corsOrigins")],
    });
  },
  jwtIssuer: (r) => {
    expect(ofType(r, "AWS::Cognito::UserPool")).toEqual([]);
    expect(onlyOne(r, "AWS::ApiGatewayV2::Authorizer").Properties.JwtConfiguration).toEqual({
      Issuer: example("jwtIssuer"),
      Audience: example("jwtAudience").split(","),
    });
  },
  jwtAudience: (r) => SHOWS.jwtIssuer(r),
  selfSignUp: (r) => {
    expect(onlyOne(r, "AWS::Cognito::UserPool").Properties.AdminCreateUserConfig).toMatchObject({
      AllowAdminCreateUserOnly: false,
    });
  },
  sesFromEmail: (r) => {
    expect(onlyOne(r, "AWS::Cognito::UserPool").Properties.EmailConfiguration).toMatchObject({
      EmailSendingAccount: "DEVELOPER",
      From: expect.stringContaining(example("sesFromEmail")),
    });
  },
  sesFromName: (r) => {
    expect(onlyOne(r, "AWS::Cognito::UserPool").Properties.EmailConfiguration).toMatchObject({
      From: `${example("sesFromName")} <${example("sesFromEmail")}>`,
    });
  },
  sesRegion: (r) => {
    const email = onlyOne(r, "AWS::Cognito::UserPool").Properties.EmailConfiguration;
    expect(JSON.stringify(email)).toContain(`:ses:${example("sesRegion")}:`);
  },
  authCallbackUrls: (r) => {
    expect(onlyOne(r, "AWS::Cognito::UserPoolClient").Properties).toMatchObject({
      AllowedOAuthFlows: ["code"],
      AllowedOAuthFlowsUserPoolClient: true,
      CallbackURLs: [example("authCallbackUrls")],
      GenerateSecret: false,
    });
  },
  authLogoutUrls: (r) => {
    expect(onlyOne(r, "AWS::Cognito::UserPoolClient").Properties.LogoutURLs).toEqual([
      example("authLogoutUrls"),
    ]);
  },
  authDomainPrefix: (r) => {
    expect(onlyOne(r, "AWS::Cognito::UserPoolDomain").Properties.Domain).toBe(example("authDomainPrefix"));
  },
};

/** The templates cfn-lint reads: the default, every option at once, and the own-IdP one (no user pool). */
const linted: string[] = [];

beforeAll(() => {
  vi.stubEnv("CDK_DEFAULT_REGION", REGION);
});

afterAll(() => {
  vi.unstubAllEnvs();
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

describe("npm run synth", () => {
  it("by default: no open sign-up, an app client without OAuth flows or example.com, workflow logs under /aws/vendedlogs/states/, 0 findings", () => {
    // Act
    const { resources, templateFile } = synth({});
    linted.push(templateFile);

    // Assess
    expect(onlyOne(resources, "AWS::Cognito::UserPool").Properties).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    expect(onlyOne(resources, "AWS::Cognito::UserPool").Properties.EmailConfiguration).toBeUndefined();
    const client = onlyOne(resources, "AWS::Cognito::UserPoolClient").Properties;
    expect(client.AllowedOAuthFlows).toBeUndefined();
    expect(client.CallbackURLs).toBeUndefined();
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(false);
    expect(ofType(resources, "AWS::Cognito::UserPoolDomain")).toEqual([]);
    const machine = onlyOne(resources, "AWS::StepFunctions::StateMachine").Properties;
    const logGroupId = (
      machine.LoggingConfiguration as {
        Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": [string] } } }[];
      }
    ).Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn["Fn::GetAtt"][0];
    expect(resources[logGroupId ?? ""]?.Properties.LogGroupName).toBe(
      `/aws/vendedlogs/states/${machine.StateMachineName}`,
    );
  });

  // One synth per distinct context: an option that needs others shares its synth with them.
  const cases = new Map<string, { context: Record<string, string>; names: ContextOptionName[] }>();
  for (const option of options) {
    const context = contextFor(option);
    const key = JSON.stringify(context);
    const found = cases.get(key) ?? { context, names: [] };
    found.names.push(option.name as ContextOptionName);
    cases.set(key, found);
  }
  for (const { context, names } of cases.values()) {
    it(`with -c ${Object.entries(context)
      .map(([name, value]) => `${name}=${value}`)
      .join(" -c ")}`, () => {
      // Act
      const { resources, templateFile } = synth(context);
      if (names.includes("jwtIssuer")) linted.push(templateFile);

      // Assess
      for (const name of names) SHOWS[name](resources);
    });
  }

  it("with every option at once (but the own-IdP pair, which replaces the user pool)", () => {
    // Act
    const { resources, templateFile } = synth(ALL_TOGETHER);
    linted.push(templateFile);

    // Assess
    for (const name of Object.keys(ALL_TOGETHER)) SHOWS[name as ContextOptionName](resources);
  });

  it("refuses a customer managed key without a region, and options without the ones they need", () => {
    // Prepare
    vi.stubEnv("CDK_DEFAULT_REGION", undefined);

    // Act
    const withoutRegion = () => buildApp({ context: { ...SKIP_BUNDLING, customerManagedKey: "true" } });

    // Assess
    expect(withoutRegion).toThrow(/customerManagedKey needs the deployment region/);
    vi.stubEnv("CDK_DEFAULT_REGION", REGION);
    const cases: [Record<string, string>, RegExp][] = [
      [{ authCallbackUrls: example("authCallbackUrls") }, /authCallbackUrls needs authDomainPrefix/],
      [{ sesFromName: example("sesFromName") }, /sesFromName needs sesFromEmail/],
      [{ ...contextFor(optionNamed("jwtIssuer")), selfSignUp: "true" }, /jwtIssuer replaces/],
      [{ transactionPageConcurrency: "0" }, /transactionPageConcurrency/],
      [{ sesFromEmail: "not an address" }, /sesFromEmail/],
    ];
    for (const [context, error] of cases)
      expect(() => buildApp({ context: { ...SKIP_BUNDLING, ...context }, nag: false }), error.source).toThrow(
        error,
      );
  });
});

describe("infra/README.md", () => {
  it("documents exactly the options infra/context.ts reads, each with its example and what it does", () => {
    // Prepare
    const readme = readFileSync(new URL("../infra/README.md", import.meta.url), "utf8");

    // Act
    const rows = readme.split("\n").filter((line) => line.startsWith("| `-c "));

    // Assess
    expect(rows).toEqual(options.map(({ name, example, doc }) => `| \`-c ${name}=${example}\` | ${doc} |`));
  });
});

const cfnLint = spawnSync("cfn-lint", ["--version"], { encoding: "utf8" });
const hasCfnLint = cfnLint.status === 0;
if (!hasCfnLint) console.info("cfn-lint is not on PATH: the synthesized templates are not linted here.");

describe("cfn-lint", () => {
  it.skipIf(!hasCfnLint)(
    `finds 0 errors in the default, every-option and own-IdP templates (${cfnLint.stdout?.trim() || "not on PATH: skipped"})`,
    () => {
      // Act: warnings (W) are printed, errors (E) fail; the exit code is a bit field of E/W/I.
      const run = spawnSync("cfn-lint", ["--format", "parseable", "--", ...linted], {
        encoding: "utf8",
      });
      const lines = run.stdout.split("\n").filter((line) => line !== "");

      // Assess
      expect(linted).toHaveLength(3);
      expect(lines.filter((line) => /:E\d+:/.test(line))).toEqual([]);
    },
    180_000,
  );
});
