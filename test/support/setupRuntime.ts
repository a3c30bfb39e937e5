import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';

// Tests keep the SDK quiet unless something is wrong. Jest runs several test files in one process,
// each with its own module registry, so only the first file of a process can install the Runtime.
if (!process.env.STEWARD_TEST_RUNTIME_INSTALLED) {
  process.env.STEWARD_TEST_RUNTIME_INSTALLED = String(process.pid);
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), console: {} } },
  });
}
