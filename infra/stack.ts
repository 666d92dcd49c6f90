// The deployable stack: one construct per concern.
import { fileURLToPath } from "node:url";
import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { DEFAULT_CHALLENGE_TIMEOUT_SECONDS } from "../shared/domain/sync";
import { Alarms } from "./constructs/alarms";
import { ConnectApi } from "./constructs/api";
import type { UserAuthProps } from "./constructs/auth";
import { BackgroundRefresh } from "./constructs/background-refresh";
import { Data } from "./constructs/data";
import { AppEvents } from "./constructs/events";
import { CHANGE_RETENTION_CONTEXT } from "./constructs/function";
import { MemberPurge } from "./constructs/member-purge";
import { Secrets } from "./constructs/secrets";
import { SyncWorkflow } from "./constructs/sync-workflow";
import type { SyncWorkflowSettings } from "./workflow/definition";

/** The repository root: handler entries (functions/*.ts) and package-lock.json are resolved from it. */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface MxConnectStackProps extends StackProps {
  /** MX Platform API base URL (default the integrations environment, https://int-api.mx.com). */
  readonly mxBaseUrl?: string;
  /** Encrypt the table with a customer managed KMS key (see Data). */
  readonly customerManagedKey?: boolean;
  readonly workflow?: SyncWorkflowSettings;
  /** Ask MX for extended transaction history (up to 24 months) on each member's first sync (default off). */
  readonly extendedHistory?: boolean;
  /** How often the background-refresh sweep runs, in hours (default 6; context `sweepEveryHours`). */
  readonly sweepEveryHours?: number;
  /** URL prefixes an OAuth member's `redirect_url` may start with (your app's return URLs). */
  readonly redirectAllowList?: readonly string[];
  /** Days the transactions change log keeps entries (a changes-feed cursor's life; default 30; context too). */
  readonly changeRetentionDays?: number;
  /** The user pool the API trusts by default (sign-up, email, hosted sign-in; context, see infra/context.ts). */
  readonly userAuth?: UserAuthProps;
  /** Overrides the repository root (tests). */
  readonly projectRoot?: string;
}

export class MxConnectStack extends Stack {
  readonly data: Data;
  readonly secrets: Secrets;
  readonly sync: SyncWorkflow;
  readonly refresh: BackgroundRefresh;
  readonly purge: MemberPurge;
  readonly api: ConnectApi;
  readonly events: AppEvents;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: MxConnectStackProps = {}) {
    super(scope, id, props);
    // Read by every function with the table (MxFunction), before any is created.
    if (props.changeRetentionDays !== undefined)
      this.node.setContext(CHANGE_RETENTION_CONTEXT, props.changeRetentionDays);
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const mxBaseUrl = props.mxBaseUrl ?? "https://int-api.mx.com";
    this.data = new Data(this, "Data", { customerManagedKey: props.customerManagedKey ?? false });
    this.secrets = new Secrets(this, "Secrets");
    this.sync = new SyncWorkflow(this, "SyncWorkflow", {
      ...props.workflow,
      projectRoot,
      table: this.data.table,
      mxCredentials: this.secrets.mxCredentials,
      mxBaseUrl,
      extendedHistory: props.extendedHistory ?? false,
    });

    // The HTTP API and its JWT authorizer (infra/constructs/api.ts): per-route grants are made there.
    this.api = new ConnectApi(this, "Api", {
      projectRoot,
      table: this.data.table,
      mxSecret: this.secrets.mxCredentials,
      oauthStateKey: this.secrets.oauthStateKey,
      stateMachine: this.sync.stateMachine,
      mxBaseUrl,
      challengeTimeoutSeconds: (
        props.workflow?.challengeTimeout ?? Duration.seconds(DEFAULT_CHALLENGE_TIMEOUT_SECONDS)
      ).toSeconds(),
      ...(props.redirectAllowList ? { redirectAllowList: props.redirectAllowList } : {}),
      ...(props.userAuth ? { userAuth: props.userAuth } : {}),
    });

    // The app's events: Finish and the routes that declare `events` publish (nothing else may).
    this.events = new AppEvents(this, "Events");
    this.events.allowPublishing(this.sync.functions.finish);
    this.events.allowRoutes(this.api.functions);

    // Alarms on every function and gives every alarm of the stack its topic (at synthesis: order-free).
    this.alarms = new Alarms(this, "Alarms", { finish: this.sync.functions.finish });

    // Webhooks and the sweep feed one queue; its consumer reads what MX aggregated (no `aggregate`).
    this.refresh = new BackgroundRefresh(this, "BackgroundRefresh", {
      projectRoot,
      table: this.data.table,
      mxSecret: this.secrets.mxCredentials,
      webhookSecret: this.secrets.mxWebhookCredentials,
      mxBaseUrl,
      routeFunctions: this.api.functions,
      ...(props.sweepEveryHours ? { sweepEveryHours: props.sweepEveryHours } : {}),
    });
    this.events.allowPublishing(this.refresh.consumer);

    // DELETE queues a member's purge; its consumer deletes the rows in the background, then member.deleted.
    this.purge = new MemberPurge(this, "MemberPurge", {
      projectRoot,
      table: this.data.table,
      routeFunctions: this.api.functions,
    });
    this.events.allowPublishing(this.purge.consumer);

    new CfnOutput(this, "ApiUrl", { value: this.api.url });
    if (this.api.auth) {
      new CfnOutput(this, "UserPoolId", { value: this.api.auth.userPool.userPoolId });
      new CfnOutput(this, "UserPoolClientId", { value: this.api.auth.appClient.userPoolClientId });
    }
    new CfnOutput(this, "TableName", { value: this.data.table.tableName });
    new CfnOutput(this, "MxCredentialsSecretArn", {
      value: this.secrets.mxCredentials.secretArn,
      description:
        'Put {"client_id","api_key"} here: aws secretsmanager put-secret-value --secret-id <arn> ...',
    });
    new CfnOutput(this, "EventBusName", {
      value: this.events.bus.eventBusName,
      description:
        "Add rules here for member.synced, member.needs_user, member.deleted (docs/events.schema.json)",
    });
    new CfnOutput(this, "AlarmTopicArn", {
      value: this.alarms.topic.topicArn,
      description:
        "Subscribe on-call here: failed syncs, Lambda errors and throttles, webhook and DLQ (refresh, purge) alarms",
    });
    new CfnOutput(this, "MxWebhookUrl", { value: `${this.api.url}/v1/mx/webhooks` });
    new CfnOutput(this, "MxWebhookCredentialsSecretArn", {
      value: this.secrets.mxWebhookCredentials.secretArn,
      description:
        "Give MX this basic auth for its webhooks: aws secretsmanager get-secret-value --secret-id <arn>",
    });
    new CfnOutput(this, "SyncStateMachineArn", { value: this.sync.stateMachine.stateMachineArn });
  }
}
