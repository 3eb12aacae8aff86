/** Table types of the admin console's overview rollups (migration 015): integer milliseconds. */

export interface ConsoleRollupsTable {
  /** Bucket width: '5m' or '1h'. */
  grain: string;
  /** Start of the bucket (epoch ms, a multiple of the width: UTC-aligned). */
  bucket_start: number;
  /** What is counted: sign_in, denial, alert, dns, lookalike. */
  series: string;
  /** The breakdown inside the series (a sign-in method, a refusal code, a DNS verdict). */
  label: string;
  count: number;
}

export interface ConsoleRollupMarksTable {
  grain: string;
  /** Every bucket of this grain that ends at or before this time has been rolled. */
  rolled_to: number;
  updated_at: number;
}
