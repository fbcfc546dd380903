// XGateway's KYC status model (../shared/docs/xgateway-kyc.md). Pure data: workflows import it too.

/** Statuses the vendor documents. Any other string is kept as-is, treated as not final, and surfaced. */
export const KNOWN_KYC_STATUSES = [
  'CREATED',
  'KYC_NEEDED',
  'PENDING_KYC_DATA',
  'KYC_PENDING',
  'SOFT_KYC_FAILED',
  'HARD_KYC_FAILED',
  'FULL_USER',
] as const;
export type KnownKycStatus = (typeof KNOWN_KYC_STATUSES)[number];

/** The POST is accepted only from these statuses. */
export const STARTABLE_STATUSES: readonly (string | null)[] = [
  'KYC_PENDING',
  'PENDING_KYC_DATA',
  'SOFT_KYC_FAILED',
  'KYC_NEEDED',
];
/** KYC is passed once per customer: from these, nothing more is ever sent. */
export const FINAL_STATUSES: readonly (string | null)[] = ['FULL_USER', 'HARD_KYC_FAILED'];
/** The merchant must create the user (`null`) or the applicant (`CREATED`) first. */
export const PRECONDITION_MISSING_STATUSES: readonly (string | null)[] = [null, 'CREATED'];
export const VERIFICATION_IN_PROGRESS = 'VERIFICATION_IN_PROGRESS';

/** One reading of the status API: the only source the workflow trusts. */
export interface KycSnapshot {
  status: string | null;
  kycProcessingStatus: string | null;
  docsMissing: string[];
  kycRejectLabel: string | null;
  kycEndUserErrorMessage: string | null;
  /** ISO time of the reading. */
  checkedAt: string;
}
