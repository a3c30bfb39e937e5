import type { Attributes, AttributeValue, Tracer } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkerInterceptors, WorkerOptions } from '@temporalio/worker';
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
  /**
   * The workflow interceptor modules a traced worker's workflow code is bundled with (the worker
   * bundles it: this module only says what tracing needs, so it never imports the worker).
   */
  readonly workflowInterceptorModules: string[];
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
  const exporter = new ScrubbingExporter(
    new otlp.OTLPTraceExporter({ url: tracesUrl }),
    settings.includeContent,
  );
  const processor: SpanProcessor = new sdk.BatchSpanProcessor(exporter);
  // not registered globally: each configuration has its own provider, and nothing else is traced
  const provider = new sdk.BasicTracerProvider({ resource, spanProcessors: [processor] });
  const tracer: Tracer = provider.getTracer('steward');
  return {
    tracesUrl,
    tracing: { tracer, includeContent: settings.includeContent },
    clientInterceptors: [changesOnly(new interceptors.OpenTelemetryWorkflowClientInterceptor({ tracer }))],
    workerInterceptors: {
      activity: [
        (ctx) => ({
          inbound: new interceptors.OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
          outbound: new interceptors.OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    workflowSinks: { exporter: interceptors.makeWorkflowExporter(processor, resource) },
    workflowInterceptorModules: [
      require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
    ],
    flush: () => provider.forceFlush(),
  };
}

/**
 * The client calls that act on a task (start, signals, updates, cancel, terminate) traced; queries
 * and describes are not: a client that follows a task polls its state every 250 ms, and each poll
 * would be a trace of its own.
 */
function changesOnly(inner: WorkflowClientInterceptor): WorkflowClientInterceptor {
  const traced = [
    'start',
    'startWithDetails',
    'signal',
    'signalWithStart',
    'startUpdate',
    'startUpdateWithStart',
    'cancel',
    'terminate',
  ] as const;
  const out: Record<string, unknown> = {};
  for (const name of traced) if (inner[name]) out[name] = inner[name].bind(inner);
  return out as WorkflowClientInterceptor;
}

/**
 * What leaves the process, whoever made the span (Steward's activities, Temporal's interceptors, the
 * workflow sandbox): every secret this process knows (API keys read from the environment;
 * shared/secrets.ts) scrubbed from names, attributes, status messages, events and links; attribute
 * values that are not OpenTelemetry values dropped (the workflow sink copies the whole workflow info,
 * memo and search attributes included, into each workflow span); and without `includeContent`, no
 * failure message or stack: they quote arguments (`missing.txt does not exist`), so a span says that
 * a step failed and its error type, and the message stays in Temporal's history.
 */
class ScrubbingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly includeContent: boolean,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(
      spans.map((span) => scrubbedSpan(span, this.includeContent)),
      resultCallback,
    );
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** What of an exception event is not content: its type. */
const EXCEPTION_TYPE = 'exception.type';

function scrubbedSpan(span: ReadableSpan, includeContent: boolean): ReadableSpan {
  const { message, ...status } = span.status;
  return {
    name: redactSecrets(span.name),
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanId: span.parentSpanId,
    startTime: span.startTime,
    endTime: span.endTime,
    status: message && includeContent ? { ...status, message: redactSecrets(message) } : status,
    attributes: scrubbedAttributes(span.attributes),
    links: span.links.map((link) =>
      link.attributes ? { ...link, attributes: scrubbedAttributes(link.attributes) } : link,
    ),
    events: span.events.map((event) => {
      let attributes = event.attributes && scrubbedAttributes(event.attributes);
      if (attributes && event.name === 'exception' && !includeContent)
        attributes = EXCEPTION_TYPE in attributes ? { [EXCEPTION_TYPE]: attributes[EXCEPTION_TYPE] } : {};
      return { ...event, name: redactSecrets(event.name), ...(attributes ? { attributes } : {}) };
    }),
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationLibrary: span.instrumentationLibrary,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

function scrubbedAttributes(attributes: Attributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string') out[key] = redactSecrets(value);
    else if (Array.isArray(value))
      out[key] = value.map((v: unknown) => (typeof v === 'string' ? redactSecrets(v) : v)) as AttributeValue;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = value;
    // anything else (objects, null) is not an attribute value: left out
  }
  return out;
}
