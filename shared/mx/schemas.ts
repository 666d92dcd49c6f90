// Runtime schemas for the MX responses this project reads: the fields we use, validated at the edge.
// Types come from MX's own models where they line up (see api.ts); these schemas are the runtime check.
import * as z from "zod";

const nullableString = z.string().nullish();
const nullableNumber = z.number().nullish();
const nullableBoolean = z.boolean().nullish();

export const paginationSchema = z.object({
  current_page: z.number().int(),
  per_page: z.number().int(),
  total_entries: z.number().int(),
  total_pages: z.number().int(),
});
export type Pagination = z.infer<typeof paginationSchema>;

export const userSchema = z.object({
  guid: z.string(),
  id: nullableString,
  email: nullableString,
  is_disabled: nullableBoolean,
  metadata: nullableString,
});
export type MxUser = z.infer<typeof userSchema>;

export const institutionSchema = z.object({
  code: z.string(),
  name: nullableString,
  url: nullableString,
  medium_logo_url: nullableString,
  small_logo_url: nullableString,
  supports_account_identification: nullableBoolean,
  supports_account_statement: nullableBoolean,
  supports_account_verification: nullableBoolean,
  supports_oauth: nullableBoolean,
  supports_transaction_history: nullableBoolean,
});
export type Institution = z.infer<typeof institutionSchema>;

export const credentialFieldSchema = z.object({
  guid: z.string(),
  field_name: nullableString,
  field_type: nullableString,
  label: nullableString,
  display_order: nullableNumber,
});
export type CredentialField = z.infer<typeof credentialFieldSchema>;

export const memberSchema = z.object({
  guid: z.string(),
  id: nullableString,
  user_guid: nullableString,
  user_id: nullableString,
  institution_code: nullableString,
  name: nullableString,
  connection_status: nullableString,
  is_being_aggregated: nullableBoolean,
  is_oauth: nullableBoolean,
  oauth_window_uri: nullableString,
  aggregated_at: nullableString,
  successfully_aggregated_at: nullableString,
  metadata: nullableString,
});
export type Member = z.infer<typeof memberSchema>;

// Every field of the spec's ChallengeResponse, OptionResponse and ImageOptionResponse: the API shows the
// prompts as MX shaped them, and the answer to an OPTIONS or IMAGE_OPTIONS prompt is the chosen `value`.
const optionSchema = z.object({
  guid: nullableString,
  label: nullableString.meta({ description: "What to show the user." }),
  value: nullableString.meta({ description: "What to send back as the answer when the user picks it." }),
});
const imageOptionSchema = z.object({
  guid: nullableString,
  label: nullableString.meta({ description: "A name for the picture (e.g. IMAGE_1)." }),
  value: nullableString.meta({ description: "What to send back as the answer when the user picks it." }),
  data_uri: nullableString.meta({ description: "The picture itself, as a data: URI." }),
});

/** The challenge types MX sends (docs.mx.com "Multifactor Authentication"); MX may add others. */
export const CHALLENGE_TYPES = ["TEXT", "OPTIONS", "TOKEN", "IMAGE_DATA", "IMAGE_OPTIONS"] as const;

export const challengeSchema = z.object({
  guid: z.string(),
  field_name: nullableString,
  label: nullableString.meta({ description: "The question to show the user." }),
  type: nullableString.meta({
    description: `How to ask: ${CHALLENGE_TYPES.join(", ")} (or a type MX adds later; show the label).`,
  }),
  image_data: nullableString.meta({
    description: "IMAGE_DATA: the picture the question is about, a data: URI.",
  }),
  options: z.array(optionSchema).nullish().meta({ description: "OPTIONS: pick one; answer with its value." }),
  image_options: z
    .array(imageOptionSchema)
    .nullish()
    .meta({ description: "IMAGE_OPTIONS: pick one picture; answer with its value." }),
});
export type Challenge = z.infer<typeof challengeSchema>;

export const memberStatusSchema = z.object({
  guid: z.string(),
  connection_status: nullableString,
  is_authenticated: nullableBoolean,
  is_being_aggregated: nullableBoolean,
  has_processed_accounts: nullableBoolean,
  has_processed_transactions: nullableBoolean,
  aggregated_at: nullableString,
  successfully_aggregated_at: nullableString,
  challenges: z.array(challengeSchema).nullish(),
});
export type MemberStatus = z.infer<typeof memberStatusSchema>;

export const accountOwnerSchema = z.object({
  guid: z.string(),
  account_guid: nullableString,
  member_guid: nullableString,
  user_guid: nullableString,
  owner_name: nullableString,
  first_name: nullableString,
  last_name: nullableString,
  address: nullableString,
  city: nullableString,
  state: nullableString,
  postal_code: nullableString,
  country: nullableString,
  email: nullableString,
  phone: nullableString,
});
export type AccountOwner = z.infer<typeof accountOwnerSchema>;

export const accountSchema = z.object({
  guid: z.string(),
  member_guid: nullableString,
  user_guid: nullableString,
  name: nullableString,
  type: nullableString,
  subtype: nullableString,
  balance: nullableNumber,
  available_balance: nullableNumber,
  currency_code: nullableString,
  account_number: nullableString,
  is_closed: nullableBoolean,
  updated_at: nullableString,
});
export type Account = z.infer<typeof accountSchema>;

export const transactionSchema = z.object({
  guid: z.string(),
  account_guid: nullableString,
  member_guid: nullableString,
  user_guid: nullableString,
  amount: nullableNumber,
  currency_code: nullableString,
  date: nullableString,
  description: nullableString,
  original_description: nullableString,
  status: nullableString,
  type: nullableString,
  category: nullableString,
  posted_at: nullableString,
  transacted_at: nullableString,
  updated_at: nullableString,
});
export type Transaction = z.infer<typeof transactionSchema>;

/** A list response body: `{ <key>: [...], pagination }`. */
export const pageOf = <K extends string, T extends z.ZodType>(key: K, item: T) =>
  z.object({ [key]: z.array(item), pagination: paginationSchema }) as unknown as z.ZodObject<
    { [P in K]: z.ZodArray<T> } & { pagination: typeof paginationSchema }
  >;

export interface Page<T> {
  items: T[];
  pagination: Pagination;
}
