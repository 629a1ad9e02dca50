/** Labels on every object the platform's own code renders (not a chart's): who manages it, what it is part of. */
export const PLATFORM_LABELS: Readonly<Record<string, string>> = { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "platform" };
