// The Connect API: an API Gateway HTTP API whose routes come from shared/api/routes.ts, one Lambda per route
// (MxFunction), a JWT authorizer on every route but the OAuth callback, stage throttling and JSON access
// logs. Each function gets only the environment and the grants its route declares it needs (`needs` in
// the route table).
import { CfnResource, Duration, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_MAX_AGE_SECONDS,
  parseCorsOrigins,
} from "../../shared/api/cors";
import { type ApiRoute, apiRoutes, routeTimeoutSeconds } from "../../shared/api/routes";
import { DEFAULT_CHALLENGE_TIMEOUT_SECONDS } from "../../shared/domain/sync";
import { acknowledge, acknowledgeSynchronousInvocation } from "../nag";
import { UserAuth, type UserAuthProps } from "./auth";
import { MxFunction } from "./function";
import { acknowledgeTableIndexes } from "./sync-workflow";

export interface JwtSettings {
  issuer: string;
  audience: string[];
}

export interface ConnectApiProps {
  /** The repository root (handler entries and package-lock.json). */
  readonly projectRoot: string;
  readonly table: dynamodb.ITableV2;
  readonly mxSecret: secretsmanager.ISecret;
  /** The API signing secret: signs OAuth states and keys member idempotency ids. */
  readonly oauthStateKey: secretsmanager.ISecret;
  readonly stateMachine: sfn.IStateMachine;
  readonly mxBaseUrl: string;
  /** URL prefixes an OAuth member's `redirect_url` may start with (default: none; the callback shows a page). */
  readonly redirectAllowList?: readonly string[];
  /**
   * The JWT issuer and audience to trust. Default: CDK context `jwtIssuer` and `jwtAudience`
   * (comma-separated) when set, else a Cognito user pool created here (UserAuth).
   */
  readonly jwt?: JwtSettings;
  readonly userAuth?: UserAuthProps;
  /** The API's public URL when served on a custom domain (default: the execute-api endpoint). */
  readonly publicUrl?: string;
  /** Stage-wide limits (default 50 requests/s steady, bursts of 100). */
  readonly throttle?: { rateLimit: number; burstLimit: number };
  /**
   * Origins a browser app may call the API from (CORS). Default: CDK context `corsOrigins` (comma-separated,
   * e.g. `-c corsOrigins=https://app.example.com`), else none.
   */
  readonly corsOrigins?: readonly string[];
  /** Must match the state machine's AwaitChallenge timeout (default DEFAULT_CHALLENGE_TIMEOUT_SECONDS). */
  readonly challengeTimeoutSeconds?: number;
}

export class ConnectApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly functions: Record<string, MxFunction> = {};
  readonly accessLogs: logs.LogGroup;
  /** Set when the API trusts the Cognito pool created here. */
  readonly auth: UserAuth | undefined;
  readonly jwt: JwtSettings;
  readonly url: string;

  constructor(scope: Construct, id: string, props: ConnectApiProps) {
    super(scope, id);
    const given = props.jwt ?? contextJwt(this);
    if (given) {
      this.auth = undefined;
      this.jwt = given;
    } else {
      const auth = new UserAuth(this, "Auth", props.userAuth);
      this.auth = auth;
      this.jwt = { issuer: auth.issuer, audience: auth.audience };
    }
    const authorizer = new HttpJwtAuthorizer("JwtAuthorizer", this.jwt.issuer, {
      jwtAudience: this.jwt.audience,
      identitySource: ["$request.header.Authorization"],
    });

    const corsOrigins = props.corsOrigins ?? contextCorsOrigins(this);
    this.httpApi = new apigwv2.HttpApi(this, "HttpApi", {
      description: "mx-connect Connect API",
      createDefaultStage: false,
      // No CORS by default: apps call it from native code or their own back end. With origins, API Gateway
      // answers preflights itself (before the authorizer) and adds the allow-origin header for them.
      ...(corsOrigins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...corsOrigins],
              allowMethods: CORS_ALLOW_METHODS.map((method) => apigwv2.CorsHttpMethod[method]),
              allowHeaders: [...CORS_ALLOW_HEADERS],
              maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
            },
          }
        : {}),
    });
    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, "DefaultStage", {
      httpApi: this.httpApi,
      stageName: "$default",
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        // The route key, never the path: the callback's path carries the OAuth state.
        format: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            time: "$context.requestTimeEpoch",
            ip: "$context.identity.sourceIp",
            route: "$context.routeKey",
            status: "$context.status",
            latencyMs: "$context.responseLatency",
            integrationLatencyMs: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
            authorizerError: "$context.authorizer.error",
            responseLength: "$context.responseLength",
          }),
        ),
      },
    });
    this.url = props.publicUrl?.replace(/\/+$/, "") ?? this.httpApi.apiEndpoint;

    for (const route of apiRoutes) {
      const fn = this.routeFunction(route, props);
      this.functions[route.id] = fn;
      const [routeResource] = this.httpApi.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.id}Integration`, fn),
        ...(route.public ? { authorizer: new apigwv2.HttpNoneAuthorizer() } : { authorizer }),
      });
      if (route.public && routeResource) {
        acknowledge(
          routeResource,
          "APIG4",
          "The OAuth callback is opened by the user's browser coming back from the bank, which carries no " +
            "token. It is authorized instead by its signed, single-use state that expires within 10 minutes.",
        );
      }
    }
  }

  private routeFunction(route: ApiRoute, props: ConnectApiProps): MxFunction {
    const { needs } = route;
    const environment: Record<string, string> = {};
    if (needs.table !== "none") environment.TABLE_NAME = props.table.tableName;
    if (needs.mx) {
      environment.MX_BASE_URL = props.mxBaseUrl;
      environment.MX_SECRET_ID = props.mxSecret.secretArn;
    }
    if (needs.signingKey) environment.OAUTH_STATE_SECRET_ID = props.oauthStateKey.secretArn;
    if (needs.startExecution || needs.stopExecution) {
      environment.STATE_MACHINE_ARN = props.stateMachine.stateMachineArn;
    }
    if (needs.redirects) environment.REDIRECT_ALLOW_LIST = (props.redirectAllowList ?? []).join(",");
    if (needs.publicUrl) environment.API_BASE_URL = this.url;
    if (needs.taskResponse)
      environment.CHALLENGE_TIMEOUT_SECONDS = String(
        props.challengeTimeoutSeconds ?? DEFAULT_CHALLENGE_TIMEOUT_SECONDS,
      );

    const fn = new MxFunction(this, route.id, {
      entry: route.entry,
      projectRoot: props.projectRoot,
      description: `${route.method} ${route.path}`,
      environment,
      // Ends before API Gateway's integration timeout; MX calls end before it (shared/api/limits.ts).
      timeout: Duration.seconds(routeTimeoutSeconds(route)),
    });

    acknowledgeSynchronousInvocation(fn, "API Gateway (the client gets the error)");
    // Least privilege, one line per need.
    if (needs.mx) props.mxSecret.grantRead(fn);
    if (needs.signingKey) props.oauthStateKey.grantRead(fn);
    if (needs.table === "read") props.table.grantReadData(fn);
    if (needs.table === "readWrite") props.table.grantReadWriteData(fn);
    if (needs.table !== "none") acknowledgeTableIndexes(fn, props.table);
    if (needs.startExecution) props.stateMachine.grantStartExecution(fn);
    if (needs.stopExecution) {
      props.stateMachine.grantExecution(fn, "states:StopExecution");
      acknowledgeExecutions(fn, props.stateMachine);
    }
    if (needs.taskResponse) props.stateMachine.grantTaskResponse(fn);
    return fn;
  }
}

/** StopExecution names the state machine's executions (`…:execution:<name>:*`): the run's name varies. */
function acknowledgeExecutions(fn: MxFunction, stateMachine: sfn.IStateMachine): void {
  const cfn = stateMachine.node.defaultChild;
  if (!fn.role || !(cfn instanceof CfnResource)) return;
  const stack = Stack.of(fn);
  // As cdk-nag prints the resource of grantExecution's statement.
  const region = Token.isUnresolved(stack.region) ? "<AWS::Region>" : stack.region;
  const account = Token.isUnresolved(stack.account) ? "<AWS::AccountId>" : stack.account;
  const name = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(cfn)}"}]}]}`;
  acknowledge(
    fn.role,
    `IAM5[Resource::arn:<AWS::Partition>:states:${region}:${account}:execution:${name}:*]`,
    "Deleting a member stops the sync run that holds it; runs are named per member and start, so the grant " +
      "covers this one state machine's executions and only states:StopExecution.",
  );
}

/** `-c corsOrigins=https://app.example.com,https://admin.example.com`: browser apps on other origins. */
function contextCorsOrigins(scope: Construct): string[] {
  const value: unknown = scope.node.tryGetContext("corsOrigins");
  if (value === undefined || value === "") return [];
  if (typeof value !== "string") throw new Error("CDK context corsOrigins must be a comma-separated string");
  return parseCorsOrigins(value);
}

/** `-c jwtIssuer=https://issuer.example.com/ -c jwtAudience=client-a,client-b`: bring your own IdP. */
function contextJwt(scope: Construct): JwtSettings | undefined {
  const issuer: unknown = scope.node.tryGetContext("jwtIssuer");
  const audience: unknown = scope.node.tryGetContext("jwtAudience");
  if (typeof issuer !== "string" || issuer === "") return undefined;
  if (typeof audience !== "string" || audience === "") {
    throw new Error(
      `CDK context jwtAudience is required with jwtIssuer (stack ${Stack.of(scope).stackName})`,
    );
  }
  return { issuer, audience: audience.split(",").map((entry) => entry.trim()) };
}
