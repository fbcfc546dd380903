// XGateway's KYC status model (../shared/docs/xgateway-kyc.md). Pure data: workflows import it too.

/** The statuses the vendor documents. Any other string is kept as-is, treated as not final, and surfaced. */
export const KYC_STATUS = {
  CREATED: 'CREATED',
  KYC_NEEDED: 'KYC_NEEDED',
  PENDING_KYC_DATA: 'PENDING_KYC_DATA',
  KYC_PENDING: 'KYC_PENDING',
  SOFT_KYC_FAILED: 'SOFT_KYC_FAILED',
  HARD_KYC_FAILED: 'HARD_KYC_FAILED',
  FULL_USER: 'FULL_USER',
} as const;
/**
 * A status as the status API or a callback reports it: a documented one, any other string (kept, never final), or
 * null (no XGateway user yet). The one status type; code names documented values through `KYC_STATUS`.
 */
export type KycStatus = (typeof KYC_STATUS)[keyof typeof KYC_STATUS] | (string & {}) | null;

/** Whether the vendor documents this status (null, no user yet, included); any other is kept but tells little. */
export function isDocumentedStatus(status: KycStatus): boolean {
  return status === null || (Object.values(KYC_STATUS) as string[]).includes(status);
}

/** The POST is accepted only from these statuses. */
export const STARTABLE_STATUSES: readonly KycStatus[] = [
  KYC_STATUS.KYC_PENDING,
  KYC_STATUS.PENDING_KYC_DATA,
  KYC_STATUS.SOFT_KYC_FAILED,
  KYC_STATUS.KYC_NEEDED,
];
/** KYC is passed once per customer: from these, nothing more is ever sent. */
export const FINAL_STATUSES: readonly KycStatus[] = [KYC_STATUS.FULL_USER, KYC_STATUS.HARD_KYC_FAILED];
/** The merchant must create the user (`null`) or the applicant (`CREATED`) first. */
export const PRECONDITION_MISSING_STATUSES: readonly KycStatus[] = [null, KYC_STATUS.CREATED];
export const VERIFICATION_IN_PROGRESS = 'VERIFICATION_IN_PROGRESS';

/** One reading of the status API: the only source the workflow trusts. */
export interface KycSnapshot {
  status: KycStatus;
  kycProcessingStatus: string | null;
  docsMissing: string[];
  kycRejectLabel: string | null;
  kycEndUserErrorMessage: string | null;
  /** ISO time of the reading. */
  checkedAt: string;
}
