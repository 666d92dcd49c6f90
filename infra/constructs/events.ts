// The client app's event bus: the service publishes member.synced, member.needs_user and member.deleted
// here (schemas: docs/events.schema.json); the app adds its own rules and targets. Only the functions that
// publish get EVENT_BUS_NAME and events:PutEvents on this bus.
import { Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { apiRoutes } from "../../shared/api/routes";

export class AppEvents extends Construct {
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new events.EventBus(this, "Bus", {
      eventBusName: `${Stack.of(this).stackName}-events`,
      description: "mx-connect: member.synced, member.needs_user, member.deleted (docs/events.schema.json)",
    });
  }

  /** The API's routes that declare `events` in shared/api/routes.ts may publish. */
  allowRoutes(routeFunctions: Record<string, lambda.Function>): void {
    for (const route of apiRoutes) {
      const fn = routeFunctions[route.id];
      if (route.needs.events && fn) this.allowPublishing(fn);
    }
  }

  /** `fn` may publish to the bus: its name in the environment, PutEvents on this bus only. */
  allowPublishing(fn: lambda.Function): void {
    fn.addEnvironment("EVENT_BUS_NAME", this.bus.eventBusName);
    this.bus.grantPutEventsTo(fn);
  }
}
