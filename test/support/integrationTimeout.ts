// Integration tests wait on a real server, workers and child processes: a loaded 2-core machine
// needs more than jest's 5 s default. (testTimeout in a project's config is not applied; this is.)
jest.setTimeout(120_000);
