// POST /v1/members/{member_guid}/sync: refresh now (202); a second call while a run holds the member starts nothing.
import { apiSyncConfigSchema } from "../shared/api/config";
import { sfnPort, stores } from "../shared/api/deps";
import { apiHandler, json } from "../shared/api/http";
import { syncMember } from "../shared/api/members";
import { memberParamsSchema } from "../shared/api/schemas";
import { config } from "../shared/config";

const env = config(apiSyncConfigSchema);

export const handler = apiHandler({ params: memberParamsSchema }, async ({ userId, params }) => {
  const { member } = await syncMember(
    { members: stores(env.TABLE_NAME).members, sfn: sfnPort(env.STATE_MACHINE_ARN), now: () => new Date() },
    userId,
    params.member_guid,
  );
  return json(202, { member });
});
