// Loads the native modules as the installed build left them (nothing rebuilt), on whatever node runs
// this: the Temporal core bridge and node-llama-cpp's prebuilt CPU binary. Exits 1 naming what failed.
const problems = [];
async function check(name, load) {
  try {
    await load();
    console.log(`${process.version}: ${name} loads`);
  } catch (err) {
    problems.push(`${name}: ${err && err.message ? err.message : String(err)}`);
  }
}
(async () => {
  await check('@temporalio/core-bridge', () => require('@temporalio/core-bridge'));
  await check('node-llama-cpp (prebuilt, CPU)', async () => {
    const { getLlama } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false });
    await llama.dispose();
  });
  if (problems.length) {
    console.error(`${process.version}: native modules that do not load:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
})();
