import type { PolicyConfig, SelectorConfig } from '../../config/index.js';

/**
 * Case-insensitive path matching, the default (`apps[].case_sensitive_paths: false`): Express,
 * ASP.NET and IIS route `/ADMIN` as `/admin`, so a block on `/admin` that compared case would let
 * `/ADMIN` through to them. Both sides are folded the same way, by ASCII lower-casing: the patterns
 * here, once per snapshot; the canonical request path in matchedPathOf (normalize-path.ts), once per
 * decision. Patterns and canonical paths are ASCII (anything else arrives percent-encoded), and hex
 * digits fold too (`%C3` and `%c3` are the same byte). The forwarded path is never folded: the
 * upstream folds it itself, or is case-sensitive and says so in the config.
 */
function foldSelector(selector: SelectorConfig): SelectorConfig {
  return selector.path === undefined ? selector : { ...selector, path: selector.path.map((pattern) => pattern.toLowerCase()) };
}

/** An app's policies with every `path` pattern folded, for both the program and the readable closures. */
export function foldPolicyPaths(policies: readonly PolicyConfig[]): PolicyConfig[] {
  return policies.map((policy) => ({
    ...policy,
    include: policy.include.map(foldSelector),
    require: policy.require.map(foldSelector),
    exclude: policy.exclude.map(foldSelector),
  }));
}
