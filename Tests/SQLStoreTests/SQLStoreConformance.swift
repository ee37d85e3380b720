import Foundation
import XCTest
import SQLStore

/// Test bodies run unchanged against every backend (SQLiteStoreTests, PostgresStoreTests).
enum Conformance {
    struct Boom: Error {}

    static func assertSQLError(_ kind: SQLError.Kind, _ expression: @autoclosure () throws -> Any,
                               contains fragments: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try expression()
            XCTFail("expected SQLError(.\(kind))", file: file, line: line)
        } catch let e as SQLError {
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            for f in fragments { XCTAssertTrue(e.message.contains(f), "\"\(e.message)\" should mention \(f)", file: file, line: line) }
        } catch {
            XCTFail("expected SQLError, got \(error)", file: file, line: line)
        }
    }

    static func randomBytes(_ n: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: n)
        var i = 0
        while i < n {
            var r = g.next()
            for _ in 0..<8 where i < n { out[i] = UInt8(truncatingIfNeeded: r); r >>= 8; i += 1 }
        }
        return out
    }

    // MARK: - Bodies

    static func roundTrip(_ db: SQLDatabase) throws {
        try db.query(db.translate("CREATE TABLE vals (id BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, t TEXT, b {blob})"))
        let rows: [(Int64?, Double?, String?, [UInt8]?)] = [
            (0, 0.0, "", []),
            (Int64.max, 0.1, "plain ascii", [0]),
            (Int64.min, -2.5e300, "héllo wörld — 日本語 🌍✓", [0, 0, 0, 1, 0]),
            (-1, 1.0 / 3.0, "quote ' and \" and \\ backslash", Array(0...255)),
            (42, .infinity, "line\nbreak\ttab", randomBytes(1 << 20)),
            (nil, nil, nil, nil),
        ]
        for (n, row) in rows.enumerated() {
            let binds: [SQLValue] = [
                .integer(Int64(n)),
                row.0.map { .integer($0) } ?? .null,
                row.1.map { .real($0) } ?? .null,
                row.2.map { .text($0) } ?? .null,
                row.3.map { .blob($0) } ?? .null,
            ]
            try db.withConnection { c in
                try c.query("INSERT INTO vals (id, i, r, t, b) VALUES ($1, $2, $3, $4, $5)", binds)
                XCTAssertEqual(c.changes, 1)
            }
        }
        let back = try db.query("SELECT id, i, r, t, b FROM vals ORDER BY id")
        XCTAssertEqual(back.count, rows.count)
        for (n, row) in rows.enumerated() {
            let r = back[n]
            XCTAssertEqual(r.columns, ["id", "i", "r", "t", "b"])
            XCTAssertEqual(try r.integer("id"), Int64(n))
            XCTAssertEqual(try r.optionalInteger("i"), row.0)
            XCTAssertEqual(try r.optionalReal("r"), row.1)
            XCTAssertEqual(try r.optionalText("t"), row.2)
            let blob = try r.optionalBlob("b")
            XCTAssertEqual(blob?.count, row.3?.count)
            XCTAssertTrue(blob == row.3, "blob \(n) differs")
        }
        // Values compare as values: a blob with zero bytes is found by equality, NULL is .null.
        let zeros = try db.query("SELECT id FROM vals WHERE b = $1", [.blob([0, 0, 0, 1, 0])])
        XCTAssertEqual(zeros.map { $0.values }, [[.integer(2)]])
        XCTAssertEqual(try db.query("SELECT t FROM vals WHERE id = 5")[0].values, [.null])
        let empty = try db.query("SELECT b, t FROM vals WHERE id = 0")[0]
        XCTAssertEqual(empty.values, [.blob([]), .text("")])
        // Unicode as a parameter in a WHERE clause.
        XCTAssertEqual(try db.query("SELECT id FROM vals WHERE t = $1", [.text("héllo wörld — 日本語 🌍✓")]).count, 1)
        // BIGINT column compared with an integer parameter.
        XCTAssertEqual(try db.query("SELECT id FROM vals WHERE i = $1", [.integer(Int64.min)]).first?.values, [.integer(2)])
        XCTAssertEqual(try db.query("SELECT COUNT(*) AS n FROM vals WHERE i > $1", [.integer(0)])[0].integer("n"), 2)
    }

    static func placeholders(_ db: SQLDatabase) throws {
        try db.query("CREATE TABLE p (a TEXT NOT NULL, b BIGINT NOT NULL)")
        try db.query("INSERT INTO p (b, a) VALUES ($2, $1)", [.text("x"), .integer(5)])
        try db.query("INSERT INTO p (a, b) VALUES ($2, $1)", [.integer(7), .text("y")])
        let r = try db.query("SELECT a, b FROM p WHERE b = $2 AND a = $1", [.text("x"), .integer(5)])
        XCTAssertEqual(r.map(\.values), [[.text("x"), .integer(5)]])
        // The same placeholder twice; $1 used only after $3.
        let twice = try db.query("SELECT a FROM p WHERE b = $3 OR (b = $2 AND a <> $1) OR a = $1 ORDER BY a",
                                 [.text("y"), .integer(0), .integer(5)])
        XCTAssertEqual(try twice.map { try $0.text("a") }, ["x", "y"])
        XCTAssertEqual(try db.execute("UPDATE p SET b = b + $1", [.integer(1)]), 2)
        XCTAssertEqual(try db.query("SELECT SUM(b) AS s FROM p")[0].integer("s"), 14)
    }

    static func constraints(_ db: SQLDatabase) throws {
        try db.query("CREATE TABLE parent (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        try db.query("CREATE TABLE child (id BIGINT PRIMARY KEY, parent BIGINT NOT NULL REFERENCES parent(id), n BIGINT CHECK (n >= 0))")
        try db.query("INSERT INTO parent (id, name) VALUES ($1, $2)", [.integer(1), .text("a")])
        assertSQLError(.constraint, try db.query("INSERT INTO parent (id, name) VALUES ($1, $2)", [.integer(1), .text("b")]))
        assertSQLError(.constraint, try db.query("INSERT INTO parent (id, name) VALUES ($1, $2)", [.integer(2), .text("a")]))
        assertSQLError(.constraint, try db.query("INSERT INTO parent (id, name) VALUES ($1, $2)", [.integer(3), .null]))
        assertSQLError(.constraint, try db.query("INSERT INTO child (id, parent, n) VALUES (1, $1, 0)", [.integer(99)]))
        assertSQLError(.constraint, try db.query("INSERT INTO child (id, parent, n) VALUES (1, 1, $1)", [.integer(-1)]))
        assertSQLError(.other, try db.query("SELEC nonsense"))
        assertSQLError(.other, try db.query("SELECT * FROM no_such_table"), contains: ["no_such_table"])
        // The pool still works after the errors.
        XCTAssertEqual(try db.query("SELECT COUNT(*) AS n FROM parent")[0].integer("n"), 1)
    }

    static func transactions(_ db: SQLDatabase) throws {
        try db.query("CREATE TABLE tx (id BIGINT PRIMARY KEY)")
        XCTAssertThrowsError(try db.transaction { c in
            try c.query("INSERT INTO tx (id) VALUES ($1)", [.integer(1)])
            try c.query("INSERT INTO tx (id) VALUES ($1)", [.integer(2)])
            throw Boom()
        }) { XCTAssertTrue($0 is Boom, "\($0)") }
        XCTAssertEqual(try db.query("SELECT COUNT(*) AS n FROM tx")[0].integer("n"), 0)

        // A constraint failure inside rolls back the earlier statements too, and is not retried.
        var runs = 0
        assertSQLError(.constraint, try db.transaction { c -> Void in
            runs += 1
            try c.query("INSERT INTO tx (id) VALUES (10)")
            try c.query("INSERT INTO tx (id) VALUES (10)")
        })
        XCTAssertEqual(runs, 1)
        XCTAssertEqual(try db.query("SELECT COUNT(*) AS n FROM tx")[0].integer("n"), 0)

        let value = try db.transaction { c -> Int64 in
            try c.query("INSERT INTO tx (id) VALUES (7)")
            return try c.query("SELECT id FROM tx")[0].integer("id")
        }
        XCTAssertEqual(value, 7)
        XCTAssertEqual(try db.query("SELECT id FROM tx").map(\.values), [[.integer(7)]])

        // A transaction left open through withConnection is rolled back before the connection is reused.
        try db.withConnection { c in
            try c.query(db.dialect == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN")
            try c.query("INSERT INTO tx (id) VALUES (8)")
        }
        XCTAssertEqual(try db.query("SELECT COUNT(*) AS n FROM tx")[0].integer("n"), 1)
    }

    static func migrations(_ db: SQLDatabase) throws {
        let base = [
            Migration(version: 2, name: "items", sql: """
                CREATE TABLE items (id {serial}, owner BIGINT NOT NULL REFERENCES owners(id), data {blob});
                CREATE INDEX items_owner ON items (owner);
                """),
            Migration(version: 1, name: "owners", sql: "CREATE TABLE owners (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"),
        ]
        XCTAssertEqual(try db.migrate(base), [1, 2])
        XCTAssertEqual(try db.migrate(base), [])
        let more = base + [Migration(version: 3, name: "owner email", sql: "ALTER TABLE owners ADD COLUMN email TEXT")]
        XCTAssertEqual(try db.migrate(more), [3])
        XCTAssertEqual(try db.migrate(more), [])

        let recorded = try db.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
        XCTAssertEqual(try recorded.map { try $0.integer("version") }, [1, 2, 3])
        XCTAssertEqual(try recorded.map { try $0.text("name") }, ["owners", "items", "owner email"])
        XCTAssertTrue(try recorded[0].text("applied_at").hasSuffix("Z"))

        // {serial} and {blob} work.
        try db.query("INSERT INTO owners (id, name, email) VALUES (1, 'o', NULL)")
        try db.query("INSERT INTO items (owner, data) VALUES (1, $1)", [.blob([1, 0, 2])])
        try db.query("INSERT INTO items (owner, data) VALUES (1, $1)", [.blob([])])
        XCTAssertEqual(try db.query("SELECT id FROM items ORDER BY id").map { try $0.integer("id") }, [1, 2])

        // A failing migration rolls back completely and names itself; later ones are not run.
        let broken = more + [
            Migration(version: 4, name: "half done", sql: "CREATE TABLE partial (x BIGINT); INSERT INTO nowhere VALUES (1)"),
            Migration(version: 5, name: "after", sql: "CREATE TABLE after5 (x BIGINT)"),
        ]
        do {
            try db.migrate(broken)
            XCTFail("migration 4 should fail")
        } catch let e as SQLError {
            XCTAssertTrue(e.message.contains("migration 4"), e.message)
            XCTAssertTrue(e.message.contains("half done"), e.message)
            XCTAssertTrue(e.message.contains("nowhere"), e.message)
        }
        XCTAssertEqual(try db.query("SELECT MAX(version) AS v FROM schema_migrations")[0].integer("v"), 3)
        Conformance.assertSQLError(.other, try db.query("SELECT * FROM partial"))
        Conformance.assertSQLError(.other, try db.query("SELECT * FROM after5"))

        // Fixed, it applies.
        let fixed = more + [Migration(version: 4, name: "half done", sql: "CREATE TABLE partial (x BIGINT)")]
        XCTAssertEqual(try db.migrate(fixed), [4])
        assertSQLError(.other, try db.migrate([Migration(version: 9, name: "a", sql: ""), Migration(version: 9, name: "b", sql: "")]),
                       contains: ["duplicate"])
    }

    static func concurrentMigrations(_ makeDatabase: () throws -> SQLDatabase) throws {
        let migrations = (1...6).map { Migration(version: $0, name: "m\($0)", sql: "CREATE TABLE m\($0) (x BIGINT)") }
        let dbs = try (0..<4).map { _ in try makeDatabase() }
        let results = Locked<[Int: Result<[Int], Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: dbs.count) { i in
            let r = Result { try dbs[i].migrate(migrations) }
            results.with { $0[i] = r }
        }
        let applied = try results.value.values.flatMap { try $0.get() }
        XCTAssertEqual(applied.sorted(), Array(1...6), "each migration applied exactly once")
    }

    static func concurrentIncrements(_ db: SQLDatabase) throws {
        try db.query("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
        try db.query("INSERT INTO counter (id, n) VALUES (1, 0)")
        let threads = 8, perThread = 25
        let lock = db.dialect == .postgres ? " FOR UPDATE" : ""
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<perThread {
                do {
                    try db.transaction { c in
                        let n = try c.query("SELECT n FROM counter WHERE id = $1\(lock)", [.integer(1)])[0].integer("n")
                        try c.query("UPDATE counter SET n = $1 WHERE id = $2", [.integer(n + 1), .integer(1)])
                    }
                } catch {
                    failures.with { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.value, [])
        XCTAssertEqual(try db.query("SELECT n FROM counter WHERE id = 1")[0].integer("n"), Int64(threads * perThread))
    }

    static func rowAccessors(_ db: SQLDatabase) throws {
        let row = try db.query("SELECT 'x' AS t, 5 AS i, NULL AS z")[0]
        XCTAssertEqual(try row.text("t"), "x")
        XCTAssertEqual(try row.integer("i"), 5)
        XCTAssertNil(try row.optionalText("z"))
        XCTAssertNil(try row.optionalInteger("z"))
        XCTAssertNil(try row.optionalBlob("z"))
        XCTAssertEqual(row["i"], .integer(5))
        XCTAssertNil(row["nope"])
        assertSQLError(.other, try row.integer("t"), contains: ["column t is text, expected integer"])
        assertSQLError(.other, try row.blob("i"), contains: ["column i is integer, expected blob"])
        assertSQLError(.other, try row.text("z"), contains: ["column z is null, expected text"])
        assertSQLError(.other, try row.optionalInteger("t") as Any, contains: ["column t is text, expected integer"])
        assertSQLError(.other, try row.value("missing"), contains: ["missing"])
    }

    static func poolAndClose(_ db: SQLDatabase) throws {
        try db.query("CREATE TABLE pc (x BIGINT)")
        let counts = Locked<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            do {
                try db.query("INSERT INTO pc (x) VALUES ($1)", [.integer(Int64(i))])
                counts.with { $0 += 1 }
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertEqual(counts.value, 16)
        db.close()
        XCTAssertEqual(try db.query("SELECT COUNT(*) AS n FROM pc")[0].integer("n"), 16)
        assertSQLError(.other, try db.withConnection { try $0.query("SELECT 1; SELECT 2") })
    }
}

/// A value shared between test threads.
final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func with<R>(_ body: (inout T) throws -> R) rethrows -> R { lock.lock(); defer { lock.unlock() }; return try body(&v) }
}
