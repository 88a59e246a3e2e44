/**
 * SQLite's page cache (database.cache_mb): native memory that stays allocated once filled.
 * better-sqlite3 builds SQLite with 16 MB; with 10,000 rooms made known that was ~16 MB of the
 * idle RSS, and 4 MB cost no measurable ingest throughput (BENCHMARKS.md, issue #18): what does
 * not fit is read from the operating system's file cache.
 */
export const DEFAULT_CACHE_MIB = 4;
