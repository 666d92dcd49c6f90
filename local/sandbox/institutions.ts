// The institutions the sandbox knows: MX's two test banks plus a few fictional ones so search and
// pagination have something to chew on. Credential guids are fixed, as they are at MX.

export interface CredentialField {
  guid: string;
  field_name: string;
  field_type: string;
  type: string;
  label: string;
  display_order: number;
}

export interface Institution {
  code: string;
  guid: string;
  name: string;
  url: string;
  supports_oauth: boolean;
  supports_account_identification: boolean;
  supports_account_statement: boolean;
  supports_account_verification: boolean;
  supports_transaction_history: boolean;
  /** Internal (not in MX's institution shape): extend_history works here; else 400, as MX answers. */
  supportsExtendedHistory: boolean;
  /** Empty for OAuth-only institutions (the user signs in at the bank). */
  credentials: CredentialField[];
}

const loginFields = (usernameGuid: string, passwordGuid: string): CredentialField[] => [
  {
    guid: usernameGuid,
    field_name: "LOGIN",
    field_type: "LOGIN",
    type: "LOGIN",
    label: "Username",
    display_order: 1,
  },
  {
    guid: passwordGuid,
    field_name: "PASSWORD",
    field_type: "PASSWORD",
    type: "PASSWORD",
    label: "Password",
    display_order: 2,
  },
];

/** mxbank's credential field guids (stable, documented in the README). */
export const MXBANK_USERNAME_GUID = "CRD-1ec152cd-e628-e81a-e852-d1e7104624da";
export const MXBANK_PASSWORD_GUID = "CRD-27d0edb8-1d50-5b90-bcbc-be270ca42b9f";

const fictional = (
  code: string,
  name: string,
  n: number,
  flags: Partial<
    Pick<
      Institution,
      "supports_account_identification" | "supports_transaction_history" | "supportsExtendedHistory"
    >
  > = {},
): Institution => ({
  code,
  guid: `INS-5a1d0b00-0000-4000-8000-${String(n).padStart(12, "0")}`,
  name,
  url: `https://www.${code.replace(/_/g, "")}.example`,
  supports_oauth: false,
  supports_account_identification: flags.supports_account_identification ?? true,
  supports_account_statement: false,
  supports_account_verification: true,
  supports_transaction_history: flags.supports_transaction_history ?? true,
  supportsExtendedHistory: flags.supportsExtendedHistory ?? true,
  credentials: loginFields(
    `CRD-5a1d0b00-0000-4000-8000-${String(n * 2).padStart(12, "0")}`,
    `CRD-5a1d0b00-0000-4000-8000-${String(n * 2 + 1).padStart(12, "0")}`,
  ),
});

export const INSTITUTIONS: readonly Institution[] = [
  {
    code: "mxbank",
    guid: "INS-1572a04c-912b-59bf-5841-332c7dfafaef",
    name: "MX Bank",
    url: "https://www.mx.com",
    supports_oauth: false,
    supports_account_identification: true,
    supports_account_statement: true,
    supports_account_verification: true,
    supports_transaction_history: true,
    supportsExtendedHistory: true,
    credentials: loginFields(MXBANK_USERNAME_GUID, MXBANK_PASSWORD_GUID),
  },
  {
    code: "mx_bank_oauth",
    guid: "INS-68e96dd6-eabd-42d3-9f05-416897f0746d",
    name: "MX Bank (OAuth)",
    url: "https://www.mx.com",
    supports_oauth: true,
    supports_account_identification: true,
    supports_account_statement: true,
    supports_account_verification: true,
    supports_transaction_history: true,
    supportsExtendedHistory: true,
    credentials: [],
  },
  fictional("sandbox_credit_union", "Sandbox Credit Union", 1, { supportsExtendedHistory: false }),
  fictional("first_example_bank", "First Example Bank", 2),
  fictional("example_savings", "Example Savings & Loan", 3, { supports_account_identification: false }),
  fictional("loopback_federal", "Loopback Federal Bank", 4),
  fictional("localhost_trust", "Localhost Trust Company", 5, {
    supports_transaction_history: false,
    supportsExtendedHistory: false,
  }),
  fictional("ephemeral_bank", "Ephemeral Bank of Port Zero", 6),
  fictional("deterministic_cu", "Deterministic Credit Union", 7),
  fictional("seeded_savings", "Seeded Savings Bank", 8),
  fictional("mock_national", "Mock National Bank", 9),
  fictional("fixture_financial", "Fixture Financial", 10),
];

export function findInstitution(code: string): Institution | undefined {
  return INSTITUTIONS.find((i) => i.code === code);
}

/** The response shape MX gives for an institution (InstitutionResponse). */
export function institutionView(i: Institution) {
  return {
    code: i.code,
    forgot_password_url: null,
    forgot_username_url: null,
    instructional_text: null,
    instructional_text_steps: null,
    is_disabled_by_client: false,
    iso_country_code: "US",
    medium_logo_url:
      "https://content.moneydesktop.com/storage/MD_Assets/Ipad%20Logos/100x100/default_100x100.png",
    name: i.name,
    small_logo_url: "https://content.moneydesktop.com/storage/MD_Assets/Ipad%20Logos/50x50/default_50x50.png",
    supports_account_identification: i.supports_account_identification,
    supports_account_statement: i.supports_account_statement,
    supports_account_verification: i.supports_account_verification,
    supports_oauth: i.supports_oauth,
    supports_tax_document: false,
    supports_transaction_history: i.supports_transaction_history,
    trouble_signing_in_url: null,
    url: i.url,
  };
}
