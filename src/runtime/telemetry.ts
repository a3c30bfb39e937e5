import type { Attributes, AttributeValue, Tracer } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkerInterceptors, WorkerOptions, WorkflowBundle } from '@temporalio/worker';
import type { ActivityTracing } from '../activities';
import type { TelemetrySettings } from '../config/telemetrySchema';
import { redactSecrets } from '../shared/secrets';

/**
 * OpenTelemetry traces of tasks (README: Traces), exported over OTLP/HTTP. A task is one trace: the
 * client's start, the workflow, each activity, and inside the model and tool activities Steward's
 * `chat {model}` and `execute_tool {tool}` spans. Off unless an endpoint is configured, and then
 * nothing of it runs: no interceptor, no SDK (its modules are not even loaded).
 */
export interface Telemetry {
  /** Where spans are sent (the OTLP/HTTP traces URL). */
  readonly tracesUrl: string;
  /** For the model and tool activities (createActivities' `tracing`). */
  readonly tracing: ActivityTracing;
  /** A Temporal client's `interceptors.workflow`: starting a task opens its trace. */
  readonly clientInterceptors: WorkflowClientInterceptor[];
  /** A worker's `interceptors`: each activity runs in a span that continues the workflow's trace. */
  readonly workerInterceptors: WorkerInterceptors;
  /** A worker's `sinks`: the workflow's spans leave the sandbox through this one. */
  readonly workflowSinks: NonNullable<WorkerOptions['sinks']>;
  /** The workflow code bundled with the tracing workflow interceptors (bundled once per process). */
  workflowBundle(): Promise<WorkflowBundle>;
  /** Sends what is buffered now (a worker that stops, a command that ends). */
  flush(): Promise<void>;
}

/** The OTLP/HTTP traces URL of an endpoint: a base URL gets `/v1/traces`; a full traces URL stays. */
export function tracesUrlOf(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

const started = new Map<string, Promise<Telemetry>>();

/**
 * The process's telemetry for these settings, started on first use and shared after (a worker and
 * the clients of one process export through one exporter); undefined when traces are off.
 */
export function startTelemetry(settings: TelemetrySettings | undefined): Promise<Telemetry | undefined> {
  if (!settings?.otlpEndpoint) return Promise.resolve(undefined);
  const key = JSON.stringify(settings);
  let telemetry = started.get(key);
  if (!telemetry) {
    telemetry = createTelemetry({ ...settings, otlpEndpoint: settings.otlpEndpoint });
    started.set(key, telemetry);
    telemetry.catch(() => started.delete(key));
  }
  return telemetry;
}

async function createTelemetry(settings: TelemetrySettings & { otlpEndpoint: string }): Promise<Telemetry> {
  // loaded here, not at the top: a process with traces off never loads the SDK
  const [otel, asyncHooks, core, sdk, resources, otlp, interceptors] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@temporalio/interceptors-opentelemetry'),
  ]);
  // The interceptors carry a trace across Temporal's headers through the global propagator, and find
  // the current span through the global context manager: both set once per process (a host program
  // that set its own keeps it).
  otel.context.setGlobalContextManager(new asyncHooks.AsyncLocalStorageContextManager().enable());
  otel.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());

  const tracesUrl = tracesUrlOf(settings.otlpEndpoint);
  const resource = new resources.Resource({ 'service.name': settings.serviceName });
  // OTEL_EXPORTER_OTLP_HEADERS (a collector's credentials) is read by the exporter itself
  const exporter = new RedactingExporter(new otlp.OTLPTraceExporter({ url: tracesUrl }));
  const processor: SpanProcessor = new sdk.BatchSpanProcessor(exporter);
  // not registered globally: each configuration has its own provider, and nothing else is traced
  const provider = new sdk.BasicTracerProvider({ resource, spanProcessors: [processor] });
  const tracer: Tracer = provider.getTracer('steward');
  let bundle: Promise<WorkflowBundle> | undefined;
  return {
    tracesUrl,
    tracing: { tracer, includeContent: settings.includeContent },
    clientInterceptors: [new interceptors.OpenTelemetryWorkflowClientInterceptor({ tracer })],
    workerInterceptors: {
      activity: [
        (ctx) => ({
          inbound: new interceptors.OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
          outbound: new interceptors.OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    workflowSinks: { exporter: interceptors.makeWorkflowExporter(processor, resource) },
    workflowBundle() {
      bundle ??= import('@temporalio/worker').then(({ bundleWorkflowCode }) =>
        bundleWorkflowCode({
          workflowsPath: require.resolve('../workflows'),
          workflowInterceptorModules: [
            require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
          ],
          logger: quietBundler,
        }),
      );
      return bundle;
    },
    flush: () => provider.forceFlush(),
  };
}

const quietBundler = {
  trace() {},
  debug() {},
  info() {},
  log() {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

/**
 * Scrubs every secret this process knows (API keys read from the environment; shared/secrets.ts)
 * from every span before it leaves, whoever made it: Steward's spans, Temporal's interceptors, the
 * workflow's (whose attributes include the workflow's info). Names, attributes, status messages,
 * events (an exception's message and stack) and links.
 */
class RedactingExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans.map(redactedSpan), resultCallback);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

function redactedSpan(span: ReadableSpan): ReadableSpan {
  return {
    name: redactSecrets(span.name),
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanId: span.parentSpanId,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status.message
      ? { ...span.status, message: redactSecrets(span.status.message) }
      : span.status,
    attributes: redactedAttributes(span.attributes),
    links: span.links.map((link) =>
      link.attributes ? { ...link, attributes: redactedAttributes(link.attributes) } : link,
    ),
    events: span.events.map((event) => ({
      ...event,
      name: redactSecrets(event.name),
      ...(event.attributes ? { attributes: redactedAttributes(event.attributes) } : {}),
    })),
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationLibrary: span.instrumentationLibrary,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

function redactedAttributes(attributes: Attributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) out[key] = redactedValue(value);
  return out;
}

function redactedValue(value: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value))
    return value.map((v: unknown) => (typeof v === 'string' ? redactSecrets(v) : v)) as AttributeValue;
  if (value !== null && typeof value === 'object') {
    // not a valid attribute value, but the workflow sink puts the workflow's info here as it is
    return JSON.parse(redactSecrets(JSON.stringify(value))) as AttributeValue;
  }
  return value;
}
