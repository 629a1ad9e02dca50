/** Labels on every object the platform's own code renders (not a chart's): who manages it, what it is part of. */
export const PLATFORM_LABELS: Readonly<Record<string, string>> = { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "platform" };

/**
 * The service a pod belongs to, on every object of a Microservice (Flagger's copies keep it): the
 * collector stamps it as service.name on the pod's telemetry, whatever the pod claims.
 */
export const LABEL_SERVICE = "platform.io/service";
