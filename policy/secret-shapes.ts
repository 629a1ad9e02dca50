/**
 * What a secret looks like, by name or by value: the one rule the CrossGuard pack (policy/secrets.ts:
 * ConfigMaps and every container's literal env) and the config schema (service env, and every value
 * an error line shows: config/secrets.ts) share, so they always agree. It lives in the pack, which
 * imports nothing of the program, and the program imports it from here. A value is secret-looking
 * by its shape (a private key, a cloud access key, a token, a URL with a password in it) or by its
 * name (PASSWORD, TOKEN, API_KEY... with a value). Whoever reports one never echoes the value.
 */

/** Names that announce a secret (`DB_PASS`, `API_KEY`, `GITHUB_TOKEN`; `BYPASS` or `COMPASS` do not). */
export const SECRET_NAME = /(PASSWORD|PASSWD|(?:^|_)PASS|(?:^|_)PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|ACCESS_?KEY)$/i;

/** A shape of secret value: what it is, its pattern, and a cheap test every match passes. */
export interface SecretShape {
  readonly what: string;
  readonly re: RegExp;
  /**
   * False only for values the pattern cannot match (a substring every match contains is absent):
   * the patterns try every position of a value, and ConfigMaps hold long ones (Grafana dashboards).
   */
  readonly maybe: (value: string) => boolean;
}

const has =
  (...needles: string[]) =>
  (v: string): boolean => {
    for (let i = 0; i < needles.length; i++) if (v.includes(needles[i]!)) return true;
    return false;
  };

/** Both tests pass: a common prefix first, one scan of a value that lacks it instead of five. */
const both =
  (a: (v: string) => boolean, b: (v: string) => boolean) =>
  (v: string): boolean =>
    a(v) && b(v);

/** Shapes of secret values, by what they are (the first that matches names the finding). */
export const SECRET_VALUES: readonly SecretShape[] = [
  { what: "a private key", re: /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/, maybe: has("PRIVATE KEY-----") },
  { what: "an AWS access key id", re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, maybe: has("AKIA", "ASIA") },
  { what: "a GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/, maybe: both(has("gh"), has("ghp_", "gho_", "ghu_", "ghs_", "ghr_")) },
  { what: "a Slack token", re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/, maybe: both(has("xox"), has("xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-")) },
  { what: "a JSON web token", re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, maybe: has(".eyJ") },
  { what: "a URL with a password", re: /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, maybe: both(has("://"), has("@")) },
];

/** Why a name/value pair looks like a secret, or undefined. */
export function secretLooking(name: string, value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const shape = SECRET_VALUES.find((s) => s.maybe(value) && s.re.test(value));
  if (shape) return `its value looks like ${shape.what}`;
  if (SECRET_NAME.test(name)) return "its name says it is a secret";
  return undefined;
}
