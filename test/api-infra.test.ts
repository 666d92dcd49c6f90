// CDK assertions for the Connect API construct: every route but the OAuth callback has the JWT authorizer,
// each route's Lambda gets exactly the grants its route needs, the stage throttles and logs, and cdk-nag's
// AwsSolutions checks pass (synth fails on an unacknowledged finding). Synthesized in-process, no bundling.
import { App, Stack, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { ConnectApi } from "../infra/constructs/api";
import { Data } from "../infra/constructs/data";
import { Secrets } from "../infra/constructs/secrets";
import { SyncWorkflow } from "../infra/constructs/sync-workflow";
import { ENTRY_METADATA_KEY } from "../infra/metadata";
import { PROJECT_ROOT } from "../infra/stack";
import { apiRoutes, type RouteNeeds } from "../shared/api/routes";

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };

function synth(context: Record<string, unknown> = {}, agnostic = false) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [], ...context } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(
    app,
    "ApiTest",
    agnostic ? {} : { env: { account: "123456789012", region: "eu-west-1" } },
  );
  const data = new Data(stack, "Data");
  const secrets = new Secrets(stack, "Secrets");
  const sync = new SyncWorkflow(stack, "SyncWorkflow", {
    projectRoot: PROJECT_ROOT,
    table: data.table,
    mxCredentials: secrets.mxCredentials,
    mxBaseUrl: "https://int-api.mx.com",
  });
  const api = new ConnectApi(stack, "Api", {
    projectRoot: PROJECT_ROOT,
    table: data.table,
    mxSecret: secrets.mxCredentials,
    oauthStateKey: secrets.oauthStateKey,
    stateMachine: sync.stateMachine,
    mxBaseUrl: "https://int-api.mx.com",
    redirectAllowList: ["https://app.example.com/connected"],
  });
  // Synthesizing the app runs cdk-nag: an unacknowledged finding throws here.
  app.synth();
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  return { template, resources, api, stack };
}

const { template, resources } = synth();

/** The logical id of the Lambda built for a route (found by its entry metadata). */
function functionOf(entry: string): [string, Resource] {
  const found = Object.entries(resources).find(
    ([, r]) => r.Type === "AWS::Lambda::Function" && r.Metadata?.[ENTRY_METADATA_KEY] === entry,
  );
  if (!found) throw new Error(`no function for ${entry}`);
  return found;
}

/** Every IAM action the route's Lambda role may perform, with the resources named for it. */
function grantsOf(entry: string): {
  actions: Set<string>;
  statements: { Action: unknown; Resource: unknown }[];
} {
  const [, fn] = functionOf(entry);
  const roleId = ((fn.Properties.Role as { "Fn::GetAtt": string[] })["Fn::GetAtt"] ?? [])[0];
  const statements = Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy")
    .filter((r) => (r.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId))
    .flatMap(
      (r) =>
        (r.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement,
    );
  const actions = new Set(
    statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[]),
  );
  return { actions, statements };
}

const routeResources = () =>
  Object.values(resources).filter((r) => r.Type === "AWS::ApiGatewayV2::Route") as Resource[];

describe("routes and the authorizer", () => {
  it("creates one route per entry of the route table", () => {
    const keys = routeResources().map((r) => r.Properties.RouteKey);

    expect(keys.sort()).toEqual(apiRoutes.map((r) => `${r.method} ${r.path}`).sort());
    expect(new Set(apiRoutes.map((r) => r.id)).size).toBe(apiRoutes.length);
  });

  it("puts the JWT authorizer on every route but the OAuth callback and MX's webhooks", () => {
    // Neither a browser back from the bank nor MX can send the app's JWT: the callback checks its signed
    // state, the webhook receiver MX's basic auth.
    const unauthenticated = new Set(["GET /v1/oauth/callback/{state}", "POST /v1/mx/webhooks"]);
    for (const route of routeResources()) {
      const isPublic = unauthenticated.has(String(route.Properties.RouteKey));
      expect(route.Properties.AuthorizationType, String(route.Properties.RouteKey)).toBe(
        isPublic ? "NONE" : "JWT",
      );
      if (!isPublic) expect(route.Properties.AuthorizerId).toBeDefined();
    }
  });

  it("trusts, by default, the Cognito pool and app client it creates", () => {
    template.resourceCountIs("AWS::Cognito::UserPool", 1);
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "JWT",
      IdentitySource: ["$request.header.Authorization"],
      JwtConfiguration: {
        Audience: [{ Ref: Match.stringLikeRegexp("AppClient") }],
      },
    });
  });

  it("trusts the issuer and audience from CDK context instead, creating no user pool", () => {
    const own = synth({ jwtIssuer: "https://issuer.example.com/", jwtAudience: "app-a,app-b" });

    own.template.resourceCountIs("AWS::Cognito::UserPool", 0);
    own.template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      JwtConfiguration: { Issuer: "https://issuer.example.com/", Audience: ["app-a", "app-b"] },
    });
  });
});

describe("cdk-nag", () => {
  it("passes for an environment-agnostic stack too (as `cdk synth` builds it)", () => {
    expect(() => synth({}, true)).not.toThrow();
  });
});

describe("the stage", () => {
  it("throttles and writes JSON access logs that name the route, never the path", () => {
    const [stage] = Object.values(resources).filter((r) => r.Type === "AWS::ApiGatewayV2::Stage");
    const settings = stage?.Properties as {
      DefaultRouteSettings: { ThrottlingRateLimit: number; ThrottlingBurstLimit: number };
      AccessLogSettings: { Format: string; DestinationArn: unknown };
    };

    expect(settings.DefaultRouteSettings.ThrottlingRateLimit).toBeGreaterThan(0);
    expect(settings.DefaultRouteSettings.ThrottlingBurstLimit).toBeGreaterThan(0);
    const format = JSON.parse(settings.AccessLogSettings.Format) as Record<string, string>;
    expect(format.route).toBe("$context.routeKey");
    expect(settings.AccessLogSettings.Format).not.toMatch(/\$context\.path|\$context\.http\.path/);
  });
});

describe("least privilege per route", () => {
  const WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];

  it.each(apiRoutes.map((r) => [r.id, r] as const))("%s", (_id, route) => {
    const needs: RouteNeeds = route.needs;
    const { actions, statements } = grantsOf(route.entry);
    const [, fn] = functionOf(route.entry);
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const secretResources = statements
      .filter((s) => JSON.stringify(s.Action).includes("secretsmanager:GetSecretValue"))
      .map((s) => JSON.stringify(s.Resource));

    // Table: reads only read; writes only where the route writes.
    expect(actions.has("dynamodb:GetItem")).toBe(needs?.table !== "none");
    expect(WRITE.some((a) => actions.has(a))).toBe(needs?.table === "readWrite");
    // Secrets: the MX credentials only for routes that call MX, the signing key only where states are made.
    expect(secretResources.some((r) => r.includes("MxCredentials"))).toBe(needs?.mx === true);
    expect(secretResources.some((r) => r.includes("OAuthStateKey"))).toBe(needs?.signingKey === true);
    // Workflow: start or answer only where the route does.
    expect(actions.has("states:StartExecution")).toBe(needs?.startExecution === true);
    expect(actions.has("states:SendTaskSuccess")).toBe(needs?.taskResponse === true);
    expect(actions.has("states:StopExecution")).toBe(needs?.stopExecution === true);
    // Environment mirrors the grants: nothing a route cannot use.
    expect("MX_SECRET_ID" in env).toBe(needs?.mx === true);
    expect("OAUTH_STATE_SECRET_ID" in env).toBe(needs?.signingKey === true);
    expect("STATE_MACHINE_ARN" in env).toBe(needs?.startExecution === true || needs?.stopExecution === true);
  });

  it("gives the read routes no write, no secret and no workflow action", () => {
    for (const id of [
      "ListMembers",
      "GetMember",
      "GetChallenges",
      "ListOwners",
      "ListAccounts",
      "ListTransactions",
    ]) {
      const route = apiRoutes.find((r) => r.id === id);
      const { actions } = grantsOf(route?.entry ?? "");
      const risky = [...actions].filter((a) =>
        /^(secretsmanager|states|lambda|iam):|^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a),
      );
      expect(risky, id).toEqual([]);
    }
  });
});
