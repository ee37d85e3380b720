// The connection pool, transactions with conflict retry, and migrations.

import Foundation

/// A pool of connections to one database. Thread-safe; blocking calls (run them off the event loop).
public final class SQLDatabase: @unchecked Sendable {
    public let dialect: SQLDialect
    /// The most connections open at once.
    public let maxConnections: Int

    private enum Target {
        case sqlite(path: String)
        case postgres(url: String)
    }

    private let target: Target
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var idle: [(connection: any PooledConnection, generation: Int)] = []
    private var openCount = 0
    private var generation = 0

    /// Opens `url`: `sqlite:PATH` or a plain path (the file is created, WAL mode, foreign keys on,
    /// busy timeout set), or `postgres://user:password@host:port/dbname` (also `postgresql://`,
    /// and `?host=/socket/dir` for unix sockets). Connects once to fail early with a clear error.
    ///
    /// Errors: SQLError(.other) for a malformed or unsupported URL, SQLError(.connection) when the
    /// database cannot be opened or reached (the message names the file, or host and port).
    /// `sqlite::memory:` / `:memory:` is a private in-memory database, so the pool holds one connection.
    public init(url: String, maxConnections: Int = 4) throws {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            throw SQLError(kind: .other, message: "empty database URL (use sqlite:PATH, a file path, or postgres://user:password@host:port/dbname)")
        }
        var limit = max(1, maxConnections)
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            target = .postgres(url: trimmed)
            dialect = .postgres
        } else if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }  // sqlite:///abs/path, sqlite://rel
            guard !path.isEmpty else {
                throw SQLError(kind: .other, message: "invalid database URL \(trimmed): no file path after sqlite:")
            }
            target = .sqlite(path: path)
            dialect = .sqlite
        } else if let scheme = trimmed.range(of: "://"),
                  trimmed[..<scheme.lowerBound].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }) {
            let name = trimmed[..<scheme.lowerBound]
            throw SQLError(kind: .other, message: "unsupported database URL scheme \"\(name)\" in \(PostgresURL.redact(trimmed)) (use sqlite:PATH, a file path, or postgres://user:password@host:port/dbname)")
        } else {
            target = .sqlite(path: trimmed)
            dialect = .sqlite
        }
        if case .sqlite(let path) = target, path == ":memory:" { limit = 1 }
        self.maxConnections = limit

        // Connect once now so configuration errors surface at startup.
        let first = try makeConnection()
        condition.lock()
        openCount = 1
        idle.append((first, generation))
        condition.unlock()
    }

    private func makeConnection() throws -> any PooledConnection {
        switch target {
        case .sqlite(let path): return try SQLiteConnection(path: path)
        case .postgres(let url): return try PostgresConnection(url: url)
        }
    }

    // MARK: - Pool

    private func acquire() throws -> (any PooledConnection, Int) {
        condition.lock()
        while true {
            if let (c, gen) = idle.popLast() {
                condition.unlock()
                if gen == currentGeneration(), c.checkAlive() { return (c, gen) }
                // Stale (server restarted, or `close()` ran): drop it and try again.
                condition.lock()
                openCount -= 1
                continue
            }
            if openCount < maxConnections {
                openCount += 1
                let gen = generation
                condition.unlock()
                do {
                    return (try makeConnection(), gen)
                } catch {
                    condition.lock()
                    openCount -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            condition.wait()
        }
    }

    private func currentGeneration() -> Int {
        condition.lock()
        defer { condition.unlock() }
        return generation
    }

    private func release(_ c: any PooledConnection, generation gen: Int, failure: Error?) {
        var keep = !c.isBroken
        if let e = failure as? SQLError, e.kind == .connection {
            keep = false
        }
        if keep && c.inTransaction {
            // The caller left a transaction open (or aborted): end it before anyone else gets the connection.
            _ = try? c.query("ROLLBACK", [])
            keep = !c.isBroken && !c.inTransaction
        }
        condition.lock()
        if let e = failure as? SQLError, e.kind == .connection {
            // The server probably went away: every connection opened before now is suspect.
            generation += 1
        }
        if keep && gen == generation {
            idle.append((c, gen))
        } else {
            openCount -= 1
        }
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` with a pooled connection (waits when all `maxConnections` are busy).
    /// A connection that failed with `.connection` is dropped, not returned to the pool.
    /// Do not nest calls on one thread: with every connection taken the inner call waits forever.
    public func withConnection<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        let (c, gen) = try acquire()
        do {
            let result = try body(c)
            release(c, generation: gen, failure: nil)
            return result
        } catch {
            release(c, generation: gen, failure: error)
            throw error
        }
    }

    /// Runs one statement on a pooled connection and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ binds: [SQLValue] = []) throws -> [SQLRow] {
        try withConnection { try $0.query(sql, binds) }
    }

    /// Runs one INSERT/UPDATE/DELETE on a pooled connection and returns the number of rows changed.
    @discardableResult
    public func execute(_ sql: String, _ binds: [SQLValue] = []) throws -> Int {
        try withConnection { try $0.execute(sql, binds) }
    }

    /// Closes every idle connection; later calls reconnect.
    /// Connections in use are closed when they are given back.
    public func close() {
        condition.lock()
        let dropped = idle
        idle.removeAll()
        openCount -= dropped.count
        generation += 1
        condition.broadcast()
        condition.unlock()
        _ = dropped  // released (and closed) here, outside the lock
    }

    // MARK: - Transactions

    private struct BeginFailed: Error { let error: SQLError }

    /// BEGIN (SQLite: BEGIN IMMEDIATE) … COMMIT, ROLLBACK when `body` throws. When the database
    /// reports `.conflict` (serialization failure, deadlock, busy) the whole transaction is retried,
    /// up to `retries` times, so `body` must have no effects outside the database.
    /// A connection lost before BEGIN succeeded is also retried (nothing ran yet); one lost later
    /// (even during COMMIT, when the outcome is unknown) is thrown as `.connection`.
    @discardableResult
    public func transaction<T>(retries: Int = 5, _ body: (any SQLConnection) throws -> T) throws -> T {
        let begin = dialect == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN"
        var attempt = 0
        while true {
            do {
                return try withConnection { c in
                    do {
                        try c.query(begin, [])
                    } catch let e as SQLError {
                        throw BeginFailed(error: e)
                    }
                    do {
                        let result = try body(c)
                        try c.query("COMMIT", [])
                        return result
                    } catch {
                        _ = try? c.query("ROLLBACK", [])
                        throw error
                    }
                }
            } catch let failed as BeginFailed {
                let e = failed.error
                guard (e.kind == .conflict || e.kind == .connection) && attempt < retries else { throw e }
            } catch let e as SQLError where e.kind == .conflict && attempt < retries {
                // retry below
            }
            attempt += 1
            // Randomized exponential backoff: ~1–10 ms, then up to ~100 ms.
            let ceiling = min(100_000, 5_000 << min(attempt, 5))
            usleep(UInt32(Int.random(in: 1_000...ceiling)))
        }
    }

    // MARK: - Migrations

    /// The advisory lock key PostgreSQL migrations hold (`pg_advisory_xact_lock`): "SignetMg".
    public static let migrationLockKey: Int64 = 0x5369_676E_6574_4D67

    /// `sql` with the dialect tokens replaced: `{blob}` and `{serial}`.
    public func translate(_ sql: String) -> String {
        switch dialect {
        case .sqlite:
            return sql.replacingOccurrences(of: "{blob}", with: "BLOB")
                .replacingOccurrences(of: "{serial}", with: "INTEGER PRIMARY KEY AUTOINCREMENT")
        case .postgres:
            return sql.replacingOccurrences(of: "{blob}", with: "BYTEA")
                .replacingOccurrences(of: "{serial}", with: "BIGSERIAL PRIMARY KEY")
        }
    }

    /// Applies the migrations not yet recorded in `schema_migrations`, in version order, each in
    /// its own transaction; returns the versions applied. Safe when several processes start at once.
    ///
    /// On PostgreSQL each migration transaction holds `pg_advisory_xact_lock(migrationLockKey)` and
    /// re-checks `schema_migrations` under it; on SQLite `BEGIN IMMEDIATE` serializes writers.
    /// A failing migration is rolled back and reported as an SQLError (same kind as the cause)
    /// whose message names its version and name; later migrations are not attempted.
    @discardableResult
    public func migrate(_ migrations: [Migration]) throws -> [Int] {
        var seen = Set<Int>()
        for m in migrations where !seen.insert(m.version).inserted {
            throw SQLError(kind: .other, message: "duplicate migration version \(m.version) (\(m.name))")
        }
        let lock = "SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))"
        try transaction { c in
            if dialect == .postgres { try c.query(lock, []) }
            try c.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)
                """, [])
        }
        let done = Set(try query("SELECT version FROM schema_migrations").map { try $0.integer("version") })
        var applied: [Int] = []
        for m in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(Int64(m.version)) {
            do {
                let ran = try transaction { c -> Bool in
                    if dialect == .postgres { try c.query(lock, []) }
                    // Another process may have applied it while we waited for the lock.
                    if try !c.query("SELECT 1 AS x FROM schema_migrations WHERE version = $1", [.integer(Int64(m.version))]).isEmpty {
                        return false
                    }
                    try c.executeScript(translate(m.sql))
                    try c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                                [.integer(Int64(m.version)), .text(m.name), .text(Self.timestamp())])
                    return true
                }
                if ran { applied.append(m.version) }
            } catch let e as SQLError {
                throw SQLError(kind: e.kind, message: "migration \(m.version) \"\(m.name)\" failed: \(e.message)", statement: e.statement)
            } catch {
                throw SQLError(kind: .other, message: "migration \(m.version) \"\(m.name)\" failed: \(error)")
            }
        }
        return applied
    }

    /// Now as ISO 8601 UTC with seconds, e.g. `2024-05-01T12:00:00Z`.
    static func timestamp() -> String {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        var buf = [CChar](repeating: 0, count: 32)
        let n = strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
