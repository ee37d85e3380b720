import Foundation
import XCTest
import SQLStore
import SignetTestSupport

/// The conformance bodies against a real PostgreSQL (one server for the class, a fresh database per
/// test), plus PostgreSQL-only checks: types, restart, unreachable server.
final class PostgresStoreTests: XCTestCase {
    nonisolated(unsafe) private static var dir: TempDir?
    nonisolated(unsafe) private static var server: PostgresServer?
    nonisolated(unsafe) private static var startError: Error?
    nonisolated(unsafe) private static var databases = 0

    override class func tearDown() {
        server?.stop()
        server = nil
        dir?.remove()
        dir = nil
        super.tearDown()
    }

    /// The shared server, started on first use.
    private func sharedServer() throws -> PostgresServer {
        try PostgresServer.requireInstalled()
        if let s = Self.server { return s }
        if let e = Self.startError { throw e }
        let d = TempDir("signet-pg")
        let s = PostgresServer(dataDir: d.path)
        do {
            try s.start()
        } catch {
            Self.startError = error
            throw error
        }
        Self.dir = d
        Self.server = s
        return s
    }

    /// A fresh database on the shared server.
    private func makeDatabase(maxConnections: Int = 4) throws -> SQLDatabase {
        let url = try freshDatabaseURL()
        return try SQLDatabase(url: url, maxConnections: maxConnections)
    }

    private func freshDatabaseURL() throws -> String {
        let s = try sharedServer()
        Self.databases += 1
        let name = "t\(Self.databases)"
        try s.createDatabase(name)
        return s.url(database: name)
    }

    func testRoundTripOfEveryValueKind() throws { try Conformance.roundTrip(try makeDatabase()) }
    func testPlaceholdersOutOfOrder() throws { try Conformance.placeholders(try makeDatabase()) }
    func testConstraintViolations() throws { try Conformance.constraints(try makeDatabase()) }
    func testTransactionRollback() throws { try Conformance.transactions(try makeDatabase()) }
    func testMigrations() throws { try Conformance.migrations(try makeDatabase()) }
    func testConcurrentMigrations() throws {
        let url = try freshDatabaseURL()
        try Conformance.concurrentMigrations { try SQLDatabase(url: url) }
    }
    func testConcurrentIncrementsLoseNothing() throws { try Conformance.concurrentIncrements(try makeDatabase(maxConnections: 8)) }
    func testRowAccessors() throws { try Conformance.rowAccessors(try makeDatabase()) }
    func testPoolAndClose() throws { try Conformance.poolAndClose(try makeDatabase()) }

    func testPostgresTypes() throws {
        let db = try makeDatabase()
        XCTAssertEqual(db.dialect, .postgres)
        let row = try db.query("""
            SELECT true AS t, false AS f, 3::int2 AS s, 4::int4 AS i, 5::int8 AS l, 1.5::float4 AS r4,
                   2.25::float8 AS r8, 'v'::varchar AS v, '\\x00ff'::bytea AS b, NULL::bytea AS nb,
                   10::numeric AS n, 1.5::numeric AS nr
            """)[0]
        XCTAssertEqual(row.values, [.integer(1), .integer(0), .integer(2 + 1), .integer(4), .integer(5), .real(1.5),
                                    .real(2.25), .text("v"), .blob([0, 0xFF]), .null, .integer(10), .real(1.5)])
        // Integer parameters work against BOOLEAN, INT and BIGINT columns (types inferred by the server).
        try db.query("CREATE TABLE flags (id INT PRIMARY KEY, on_ BOOLEAN NOT NULL, big BIGINT)")
        try db.query("INSERT INTO flags VALUES ($1, $2, $3)", [.integer(1), .integer(1), .integer(Int64.max)])
        XCTAssertEqual(try db.query("SELECT on_ FROM flags WHERE id = $1 AND big = $2", [.integer(1), .integer(Int64.max)])[0].values,
                       [.integer(1)])
        // SKIP LOCKED and friends pass straight through.
        try db.transaction { c in
            XCTAssertEqual(try c.query("SELECT id FROM flags FOR UPDATE SKIP LOCKED").count, 1)
        }
    }

    func testAdvisoryLockHeldDuringMigration() throws {
        let key = SQLDatabase.migrationLockKey
        // While another session holds the migration lock, migrate waits; once released it proceeds.
        let url = try freshDatabaseURL()
        let a = try SQLDatabase(url: url), b = try SQLDatabase(url: url)
        let holder = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? a.transaction { c in
                try c.query("SELECT pg_advisory_xact_lock(\(key))")
                holder.signal()
                release.wait()
            }
        }
        holder.wait()
        // The lock is released only once the migration is seen waiting for it (an advisory lock
        // not granted, in pg_locks), so migrate must return after the release.
        let watcher = Locked(try PostgresConnection(url: url))
        let sawWaiting = Locked(false), released = Locked(false)
        let watching = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let waiting = waitUntil(timeout: 30) {
                let rows = try? watcher.with { try $0.query("""
                    SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """) }
                return ((try? rows?.first?.integer("n")) ?? 0) > 0
            }
            sawWaiting.with { $0 = waiting }
            released.with { $0 = true }
            release.signal()
            watching.signal()
        }
        XCTAssertEqual(try b.migrate([Migration(version: 1, name: "one", sql: "CREATE TABLE one (x BIGINT)")]), [1])
        XCTAssertTrue(released.value, "migrate returned while another session held the migration lock")
        watching.wait()
        XCTAssertTrue(sawWaiting.value, "migrate never waited for the migration lock")
    }

    func testDeadlockIsRetriedByTransaction() throws {
        let db = try makeDatabase(maxConnections: 2)
        try db.query("CREATE TABLE d (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
        try db.query("INSERT INTO d VALUES (1, 0), (2, 0)")
        try db.query("ALTER DATABASE \(try db.query("SELECT current_database() AS d")[0].text("d")) SET deadlock_timeout = '100ms'")
        db.close()  // new sessions pick up the setting
        // Two transactions lock the rows in opposite orders; the first attempts meet in the middle.
        let attempts = Locked<Int>(0)
        let barrier = DispatchGroup()
        barrier.enter(); barrier.enter()
        let errors = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            do {
                try db.transaction { c in
                    let first = attempts.with { $0 += 1; return $0 } <= 2
                    let order: [Int64] = i == 0 ? [1, 2] : [2, 1]
                    try c.query("UPDATE d SET n = n + 1 WHERE id = $1", [.integer(order[0])])
                    if first { barrier.leave(); barrier.wait() }
                    try c.query("UPDATE d SET n = n + 1 WHERE id = $1", [.integer(order[1])])
                }
            } catch {
                errors.with { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(errors.value, [])
        XCTAssertGreaterThan(attempts.value, 2, "one transaction should have been retried after the deadlock")
        XCTAssertEqual(try db.query("SELECT SUM(n) AS s FROM d")[0].integer("s"), 4)
    }

    func testDeadlockIsAConflict() throws {
        let url = try freshDatabaseURL()
        let a = try PostgresConnection(url: url), b = try PostgresConnection(url: url)
        try a.query("CREATE TABLE dl (id BIGINT PRIMARY KEY)")
        try a.query("INSERT INTO dl VALUES (1), (2)")
        try a.query("SET deadlock_timeout = '50ms'"); try b.query("SET deadlock_timeout = '50ms'")
        try a.query("BEGIN"); try b.query("BEGIN")
        try a.query("SELECT id FROM dl WHERE id = 1 FOR UPDATE")
        try b.query("SELECT id FROM dl WHERE id = 2 FOR UPDATE")
        let pidA = try a.query("SELECT pg_backend_pid() AS pid")[0].integer("pid")
        let watcher = try PostgresConnection(url: url)
        let boxA = Locked(a)
        let resultA = Locked<Error?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            boxA.with { c in
                do { try c.query("SELECT id FROM dl WHERE id = 2 FOR UPDATE") } catch { resultA.with { $0 = error } }
            }
            done.signal()
        }
        // A waits for B's row lock before B asks for A's.
        XCTAssertTrue(try waitUntil(timeout: 30) {
            try watcher.query("SELECT COUNT(*) AS n FROM pg_locks WHERE pid = $1 AND NOT granted", [.integer(pidA)])[0].integer("n") > 0
        }, "the first session never waited for the second's lock")
        var resultB: Error?
        do { try b.query("SELECT id FROM dl WHERE id = 1 FOR UPDATE") } catch { resultB = error }
        _ = try? b.query("ROLLBACK")
        done.wait()
        boxA.with { _ = try? $0.query("ROLLBACK") }
        let failures = [resultA.value, resultB].compactMap { $0 as? SQLError }
        XCTAssertEqual(failures.map(\.kind), [.conflict], "\(failures)")
        XCTAssertTrue(failures.first?.message.contains("40P01") ?? false, "\(failures)")
    }

    func testRestartMidUseReconnects() throws {
        try PostgresServer.requireInstalled()
        let d = TempDir("signet-pg-restart")
        let server = PostgresServer(dataDir: d.path)
        try server.start()
        defer { server.stop() }
        let db = try SQLDatabase(url: server.url, maxConnections: 4)
        try db.query("CREATE TABLE r (x BIGINT)")
        // Fill the pool with several idle connections.
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            _ = try? db.query("INSERT INTO r VALUES ($1)", [.integer(Int64(i))])
        }
        try server.restart()
        // The next call may fail (a connection cut mid-use) or succeed; the following one succeeds.
        do { try db.query("INSERT INTO r VALUES (100)") } catch let e as SQLError { XCTAssertEqual(e.kind, .connection, "\(e)") }
        XCTAssertEqual(try db.query("SELECT COUNT(*) AS n FROM r WHERE x < 100")[0].integer("n"), 4)
        for _ in 0..<8 { XCTAssertNoThrow(try db.query("SELECT 1 AS one")) }

        // Server down: .connection; back up: works again without a new SQLDatabase.
        server.stop()
        Conformance.assertSQLError(.connection, try db.query("SELECT 1 AS one"), contains: ["127.0.0.1", "\(server.port)"])
        try server.start()
        XCTAssertEqual(try db.query("SELECT 1 AS one")[0].integer("one"), 1)
        XCTAssertEqual(try db.transaction { try $0.query("SELECT COUNT(*) AS n FROM r WHERE x < 100")[0].integer("n") }, 4)
    }

    func testClosedPortIsAConnectionErrorNamingHostAndPort() throws {
        let port = try Swtpm.freePort()
        let url = "postgres://signet:secret@127.0.0.1:\(port)/signet"
        do {
            _ = try SQLDatabase(url: url)
            XCTFail("connected to a closed port")
        } catch let e as SQLError {
            XCTAssertEqual(e.kind, .connection)
            XCTAssertTrue(e.message.contains("127.0.0.1"), e.message)
            XCTAssertTrue(e.message.contains("\(port)"), e.message)
            XCTAssertFalse(e.message.contains("secret"), e.message)
        }
    }

    func testUnixSocketURL() throws {
        let s = try sharedServer()
        let db = try SQLDatabase(url: "postgresql://signet@/signet?host=\(s.clusterDir)&port=\(s.port)")
        XCTAssertEqual(try db.query("SELECT 1 AS one")[0].integer("one"), 1)
    }
}
