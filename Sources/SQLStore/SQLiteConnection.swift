// SQLite backend: one sqlite3 handle, prepared statements cached by SQL text.

#if canImport(Glibc)
import Glibc
#endif
import CSQLite

// sqlite3's SQLITE_TRANSIENT: copy the bound bytes before returning.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite database connection (WAL journal, foreign keys on, `synchronous=NORMAL`, 5 s busy timeout).
/// Not thread-safe: one thread at a time. Normally obtained from `SQLDatabase`.
public final class SQLiteConnection: SQLConnection, PooledConnection {
    public var dialect: SQLDialect { .sqlite }
    /// Rows changed by the last INSERT/UPDATE/DELETE run through `query`.
    public private(set) var changes: Int = 0
    /// The file this connection opened (or `:memory:`).
    public let path: String

    private var db: OpaquePointer?
    private var cache: [String: OpaquePointer] = [:]
    private static let cacheLimit = 128

    /// Opens (creating if needed) the database file at `path`.
    /// Throws SQLError(.connection) when the file cannot be opened.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000) throws {
        self.path = path
        var handle: OpaquePointer?
        // The verifier's state (node tokens' hashes, verdicts) is nobody else's business: a new
        // database file is created 0600 (SQLite gives its -wal and -shm files the same mode).
        if path != ":memory:" {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 { Glibc.close(fd) }
        }
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let handle { sqlite3_close_v2(handle) }
            throw SQLError(kind: .connection, message: "cannot open SQLite database \(path): \(msg)")
        }
        db = handle
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        do {
            try runScript("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;")
        } catch let e as SQLError {
            close()
            throw SQLError(kind: e.kind == .other ? .connection : e.kind,
                           message: "cannot open SQLite database \(path): \(e.message)")
        }
    }

    deinit { close() }

    /// Finalizes cached statements and closes the handle; later calls fail with `.connection`.
    public func close() {
        for (_, stmt) in cache { sqlite3_finalize(stmt) }
        cache.removeAll()
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    var isBroken: Bool { db == nil }

    var inTransaction: Bool {
        guard let db else { return false }
        return sqlite3_get_autocommit(db) == 0
    }

    func checkAlive() -> Bool { db != nil }

    @discardableResult
    public func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        guard let db else { throw SQLError(kind: .connection, message: "SQLite connection is closed", statement: SQLError.clip(sql)) }
        let stmt = try prepare(sql, db)
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        try bind(binds, to: stmt, sql: sql)

        var rows: [SQLRow] = []
        var columns: [String]?
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc, sql) }
            let count = Int(sqlite3_column_count(stmt))
            if columns == nil {
                columns = (0..<count).map { String(cString: sqlite3_column_name(stmt, Int32($0))) }
            }
            var values: [SQLValue] = []
            values.reserveCapacity(count)
            for i in 0..<Int32(count) { values.append(column(stmt, i)) }
            rows.append(SQLRow(columns: columns!, values: values))
        }
        changes = sqlite3_stmt_readonly(stmt) != 0 ? 0 : Int(sqlite3_changes(db))
        return rows
    }

    func runScript(_ script: String) throws {
        guard let db else { throw SQLError(kind: .connection, message: "SQLite connection is closed") }
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, script, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let msg = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(errmsg)
            throw SQLError(kind: Self.kind(rc), message: msg, statement: SQLError.clip(script))
        }
        changes = Int(sqlite3_changes(db))
    }

    // MARK: - Internals

    private func prepare(_ sql: String, _ db: OpaquePointer) throws -> OpaquePointer {
        if let stmt = cache[sql] { return stmt }
        var stmt: OpaquePointer?
        var extra = false
        let rc = sql.withCString { text -> Int32 in
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v2(db, text, -1, &stmt, &tail)
            if rc == SQLITE_OK, var t = tail {
                // Allow trailing whitespace and semicolons only: `query` runs one statement.
                while t.pointee != 0 {
                    let c = UInt8(bitPattern: t.pointee)
                    if c != UInt8(ascii: ";") && c != 0x20 && c != 0x0A && c != 0x0D && c != 0x09 { extra = true; break }
                    t += 1
                }
            }
            return rc
        }
        guard rc == SQLITE_OK else { throw error(rc, sql) }
        guard let stmt else {
            throw SQLError(kind: .other, message: "empty statement", statement: SQLError.clip(sql))
        }
        if extra {
            sqlite3_finalize(stmt)
            throw SQLError(kind: .other, message: "query runs one statement; use executeScript for several",
                           statement: SQLError.clip(sql))
        }
        if cache.count >= Self.cacheLimit {
            for (_, s) in cache { sqlite3_finalize(s) }
            cache.removeAll()
        }
        cache[sql] = stmt
        return stmt
    }

    private func bind(_ binds: [SQLValue], to stmt: OpaquePointer, sql: String) throws {
        let parameterCount = sqlite3_bind_parameter_count(stmt)
        guard parameterCount > 0 || !binds.isEmpty else { return }
        // Every parameter in the statement must be `$N` with a value for N.
        for index in stride(from: Int32(1), through: parameterCount, by: 1) {
            let name = sqlite3_bind_parameter_name(stmt, index).map { String(cString: $0) } ?? "?"
            guard name.hasPrefix("$"), let n = Int(name.dropFirst()), n >= 1 else {
                throw SQLError(kind: .other, message: "unsupported placeholder \(name): use $1, $2, …", statement: SQLError.clip(sql))
            }
            guard n <= binds.count else {
                throw SQLError(kind: .other, message: "statement uses $\(n) but \(binds.count) value(s) were bound",
                               statement: SQLError.clip(sql))
            }
        }
        for (i, value) in binds.enumerated() {
            let index = sqlite3_bind_parameter_index(stmt, "$\(i + 1)")
            if index == 0 { continue }  // not used by this statement
            let rc: Int32
            switch value {
            case .null:
                rc = sqlite3_bind_null(stmt, index)
            case .integer(let v):
                rc = sqlite3_bind_int64(stmt, index, v)
            case .real(let v):
                rc = sqlite3_bind_double(stmt, index, v)
            case .text(let s):
                var s = s
                rc = s.withUTF8 { buf -> Int32 in
                    guard let base = buf.baseAddress, buf.count > 0 else {
                        return sqlite3_bind_text(stmt, index, "", 0, sqliteTransient)
                    }
                    return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: buf.count) {
                        sqlite3_bind_text(stmt, index, $0, Int32(buf.count), sqliteTransient)
                    }
                }
            case .blob(let bytes):
                if bytes.isEmpty {
                    // A NULL pointer would bind SQL NULL; an empty blob is a zero-length zeroblob.
                    rc = sqlite3_bind_zeroblob(stmt, index, 0)
                } else {
                    rc = bytes.withUnsafeBytes { sqlite3_bind_blob(stmt, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
                }
            }
            guard rc == SQLITE_OK else { throw error(rc, sql) }
        }
    }

    private func column(_ stmt: OpaquePointer, _ i: Int32) -> SQLValue {
        switch sqlite3_column_type(stmt, i) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(stmt, i))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(stmt, i))
        case SQLITE_TEXT:
            guard let p = sqlite3_column_text(stmt, i) else { return .text("") }
            let n = Int(sqlite3_column_bytes(stmt, i))
            return .text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        case SQLITE_BLOB:
            let p = sqlite3_column_blob(stmt, i)
            let n = Int(sqlite3_column_bytes(stmt, i))
            guard let p, n > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default:
            return .null
        }
    }

    private func error(_ rc: Int32, _ sql: String) -> SQLError {
        let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        return SQLError(kind: Self.kind(rc), message: msg, statement: SQLError.clip(sql))
    }

    static func kind(_ rc: Int32) -> SQLError.Kind {
        switch rc & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED: return .conflict
        case SQLITE_CONSTRAINT: return .constraint
        case SQLITE_CANTOPEN, SQLITE_NOTADB: return .connection
        default: return .other
        }
    }
}
