/**
 * Every test picks its store itself. The store that the shell (or CI) points at with REDIS_URL
 * or DATABASE_URL must not leak into the servers and commands a test starts, which would then
 * run on another store than the test meant (and refuse to start without a shared secret).
 * The Redis tests find their server through RISKGATE_TEST_REDIS_URL (test/redis-helpers.ts).
 */
if (process.env.REDIS_URL && !process.env.RISKGATE_TEST_REDIS_URL) process.env.RISKGATE_TEST_REDIS_URL = process.env.REDIS_URL;
delete process.env.REDIS_URL;
delete process.env.DATABASE_URL;
