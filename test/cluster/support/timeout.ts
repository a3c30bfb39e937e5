// Cluster scenarios wait out heartbeat and pickup timeouts and server restarts: minutes, not seconds.
// (testTimeout in a project's config is not applied to its tests; this is.)
jest.setTimeout(240_000);
