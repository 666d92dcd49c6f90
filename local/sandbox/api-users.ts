// Users and institutions.
import * as z from "zod";
import { badRequest, conflict, notFound } from "./errors";
import { type ApiReply, type ApiRequest, jsonObjectBody, noContent, ok, parseWith, wrapped } from "./http";
import { findInstitution, INSTITUTIONS, institutionView } from "./institutions";
import { pageOfList, pageWindow } from "./pagination";
import type { UserRecord } from "./state";

const userCreateSchema = z.object({
  id: z.string().max(255).nullish(),
  email: z.string().max(255).nullish(),
  metadata: z.string().max(10_000).nullish(),
  is_disabled: z.boolean().nullish(),
});

export function userView(user: UserRecord) {
  return {
    email: user.email,
    guid: user.guid,
    id: user.id,
    is_disabled: user.isDisabled,
    metadata: user.metadata,
  };
}

export function createUser(req: ApiRequest): ApiReply {
  const raw = wrapped(jsonObjectBody(req), "user");
  const input = parseWith(userCreateSchema, raw, "user");
  const given = [input.id, input.email, input.metadata, input.is_disabled].filter(
    (v) => v !== undefined && v !== null,
  );
  if (given.length === 0) throw badRequest("The user object cannot be empty.");
  const { state } = req;
  if (input.id != null && [...state.users.values()].some((u) => u.id === input.id)) {
    throw conflict("A user with this id already exists.");
  }
  const user: UserRecord = {
    guid: state.mintGuid("USR", "user", input.id ?? `#${state.users.size}`),
    id: input.id ?? null,
    email: input.email ?? null,
    metadata: input.metadata ?? null,
    isDisabled: input.is_disabled ?? false,
  };
  state.users.set(user.guid, user);
  return ok({ user: userView(user) });
}

export function listUsers(req: ApiRequest): ApiReply {
  const { query } = req;
  const id = query.get("id");
  const email = query.get("email");
  const disabled = query.get("is_disabled");
  const users = [...req.state.users.values()].filter(
    (u) =>
      (id === null || u.id === id) &&
      (email === null || u.email === email) &&
      (disabled === null || String(u.isDisabled) === disabled),
  );
  const page = pageOfList(users.map(userView), pageWindow(query, 1000));
  return ok({ users: page.items, pagination: page.pagination });
}

export function readUser(req: ApiRequest): ApiReply {
  return ok({ user: userView(req.state.user(req.params.user_guid ?? "")) });
}

export function deleteUser(req: ApiRequest): ApiReply {
  req.state.deleteUser(req.params.user_guid ?? "");
  return noContent();
}

const SUPPORT_FILTERS = [
  "supports_account_identification",
  "supports_account_statement",
  "supports_account_verification",
  "supports_transaction_history",
] as const;

export function listInstitutions(req: ApiRequest): ApiReply {
  const { query } = req;
  const name = query.get("name")?.trim().toLowerCase() ?? "";
  const found = INSTITUTIONS.filter(
    (i) =>
      (name === "" || i.name.toLowerCase().includes(name) || i.code.toLowerCase().includes(name)) &&
      SUPPORT_FILTERS.every((f) => query.get(f) !== "true" || i[f]),
  );
  const page = pageOfList(found.map(institutionView), pageWindow(query, 100));
  return ok({ institutions: page.items, pagination: page.pagination });
}

export function readInstitution(req: ApiRequest): ApiReply {
  const institution = findInstitution(req.params.institution_code ?? "");
  if (!institution) throw notFound("institution");
  return ok({ institution: institutionView(institution) });
}

export function listCredentials(req: ApiRequest): ApiReply {
  const institution = findInstitution(req.params.institution_code ?? "");
  if (!institution) throw notFound("institution");
  const page = pageOfList(institution.credentials, pageWindow(req.query, 1000));
  return ok({ credentials: page.items, pagination: page.pagination });
}
