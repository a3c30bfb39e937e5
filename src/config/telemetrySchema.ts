import { z } from 'zod';

/**
 * The `telemetry` section of steward.yaml (README: Traces): where OpenTelemetry traces go, over
 * OTLP/HTTP. Off unless an endpoint is configured (here or in `OTEL_EXPORTER_OTLP_ENDPOINT`); the
 * prompts, tool arguments and outputs stay out of spans unless `includeContent` says otherwise.
 */

/** Longest accepted endpoint URL and service name: enough for any real one, bounded like the rest. */
const MAX_URL_CHARS = 2048;
const MAX_SERVICE_NAME_CHARS = 200;

/** Why `value` cannot be an OTLP endpoint, or undefined when it can. */
export function otlpEndpointProblem(value: string): string | undefined {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !/^https?:$/.test(url.protocol)) return 'expected an http(s) URL (OTLP over HTTP)';
  if (value.length > MAX_URL_CHARS) return `expected at most ${MAX_URL_CHARS} characters`;
  // credentials belong in OTEL_EXPORTER_OTLP_HEADERS, read from the environment, never in a file
  if (url.username || url.password)
    return 'an endpoint must not carry credentials (send them with OTEL_EXPORTER_OTLP_HEADERS)';
  if (url.search || url.hash) return 'an endpoint must not have a query or a fragment';
  return undefined;
}

const endpoint = z.string().superRefine((value, ctx) => {
  const problem = otlpEndpointProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const telemetrySchema = z
  .object({
    /**
     * The OTLP/HTTP receiver: a base URL (`http://127.0.0.1:4318`, spans go to `/v1/traces` under
     * it) or the full traces URL (ending in `/v1/traces`). Absent: no traces (the default).
     */
    otlpEndpoint: endpoint.optional(),
    /** Put prompts, model answers, tool arguments and tool outputs in spans (default false). */
    includeContent: z.boolean().default(false),
    /** The `service.name` of the spans' resource. */
    serviceName: z
      .string()
      .min(1)
      .max(MAX_SERVICE_NAME_CHARS)
      // eslint-disable-next-line no-control-regex
      .regex(/^[^\u0000-\u001f\u007f]+$/, 'expected printable text')
      .default('steward'),
  })
  .strict();

export type TelemetrySettings = z.output<typeof telemetrySchema>;
