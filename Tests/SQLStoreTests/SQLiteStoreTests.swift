import Foundation
import XCTest
import SQLStore
import SignetTestSupport

/// The conformance bodies against SQLite (a temp file), plus SQLite-only checks.
final class SQLiteStoreTests: XCTestCase {
    private var dir: TempDir!

    override func setUp() {
        dir = makeTempDir("signet-sqlite")
    }

    private func makeDatabase(maxConnections: Int = 4) throws -> SQLDatabase {
        try SQLDatabase(url: "sqlite:\(dir.url("state.db"))", maxConnections: maxConnections)
    }

    func testRoundTripOfEveryValueKind() throws { try Conformance.roundTrip(try makeDatabase()) }
    func testPlaceholdersOutOfOrder() throws { try Conformance.placeholders(try makeDatabase()) }
    func testConstraintViolations() throws { try Conformance.constraints(try makeDatabase()) }
    func testTransactionRollback() throws { try Conformance.transactions(try makeDatabase()) }
    func testMigrations() throws { try Conformance.migrations(try makeDatabase()) }
    func testConcurrentMigrations() throws { try Conformance.concurrentMigrations { try makeDatabase() } }
    func testConcurrentIncrementsLoseNothing() throws { try Conformance.concurrentIncrements(try makeDatabase(maxConnections: 8)) }
    func testRowAccessors() throws { try Conformance.rowAccessors(try makeDatabase()) }
    func testPoolAndClose() throws { try Conformance.poolAndClose(try makeDatabase()) }

    func testPragmas() throws {
        let db = try makeDatabase()
        XCTAssertEqual(db.dialect, .sqlite)
        try db.withConnection { c in
            XCTAssertEqual(try c.query("PRAGMA journal_mode")[0].values, [.text("wal")])
            XCTAssertEqual(try c.query("PRAGMA foreign_keys")[0].values, [.integer(1)])
            XCTAssertEqual(try c.query("PRAGMA synchronous")[0].values, [.integer(1)])  // NORMAL
            XCTAssertEqual(try c.query("PRAGMA busy_timeout")[0].values, [.integer(5000)])
        }
    }

    func testURLForms() throws {
        let plain = try SQLDatabase(url: dir.url("plain.db"))
        try plain.query("CREATE TABLE t (x BIGINT)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.url("plain.db")))
        let triple = try SQLDatabase(url: "sqlite://\(dir.url("plain.db"))")
        XCTAssertEqual(try triple.query("SELECT COUNT(*) AS n FROM t")[0].integer("n"), 0)
        let memory = try SQLDatabase(url: "sqlite::memory:", maxConnections: 8)
        XCTAssertEqual(memory.maxConnections, 1)
        try memory.query("CREATE TABLE m (x BIGINT)")
        try memory.query("INSERT INTO m VALUES (1)")
        XCTAssertEqual(try memory.query("SELECT x FROM m")[0].integer("x"), 1)
    }

    func testUnopenableFileIsAConnectionError() {
        Conformance.assertSQLError(.connection, try SQLDatabase(url: "sqlite:/nonexistent-dir/sub/state.db"),
                                   contains: ["/nonexistent-dir/sub/state.db"])
    }

    func testBusyIsAConflictAndTransactionsRetryIt() throws {
        let path = dir.url("busy.db")
        let db = try SQLDatabase(url: path)
        try db.query("CREATE TABLE t (x BIGINT)")
        // A second handle holding the write lock longer than a short busy timeout gives .conflict.
        let holder = try SQLiteConnection(path: path)
        let impatient = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 50)
        try holder.query("BEGIN IMMEDIATE")
        Conformance.assertSQLError(.conflict, try impatient.query("INSERT INTO t VALUES (1)"))
        // SQLDatabase.transaction waits (busy timeout) and then commits once the lock is released:
        // the holder commits once this thread is seen waiting (asleep in SQLite's busy handler).
        let box = Locked(holder)
        let waiter = getpid()  // XCTest runs the test on the main thread, whose id is the process's
        let sawWaiting = Locked(false), committed = Locked(false)
        DispatchQueue.global().async {
            let waiting = waitUntil(timeout: 30) { sleepingThreads(of: waiter).contains { $0.thread == waiter } }
            sawWaiting.with { $0 = waiting }
            committed.with { $0 = true }
            box.with { _ = try? $0.query("COMMIT") }
        }
        try db.transaction { c in try c.query("INSERT INTO t VALUES (2)") }
        XCTAssertTrue(committed.value, "the transaction committed while another handle held the write lock")
        XCTAssertTrue(sawWaiting.value, "the transaction never waited for the write lock")
        XCTAssertEqual(try db.query("SELECT x FROM t").map(\.values), [[.integer(2)]])
    }

    func testBadURLs() {
        Conformance.assertSQLError(.other, try SQLDatabase(url: "mysql://u:secret@h/db"), contains: ["mysql"])
        Conformance.assertSQLError(.other, try SQLDatabase(url: ""), contains: ["empty"])
        Conformance.assertSQLError(.other, try SQLDatabase(url: "sqlite:"))
        Conformance.assertSQLError(.other, try SQLDatabase(url: "postgres://u@127.0.0.1:notaport/db"), contains: ["port"])
        Conformance.assertSQLError(.other, try SQLDatabase(url: "postgresql://u@h/db?nosuchoption=1"), contains: ["nosuchoption"])
        do {
            _ = try SQLDatabase(url: "mysql://u:secret@h/db")
        } catch {
            XCTAssertFalse("\(error)".contains("secret"), "password must not appear in messages: \(error)")
        }
    }
}
