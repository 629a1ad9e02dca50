import { ConfigError, parsePlatformConfig } from "../../config/load";

/** The formatted problems of a raw config (none when it is valid). */
export function configProblems(raw: Record<string, unknown>): string[] {
  try {
    parsePlatformConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}
