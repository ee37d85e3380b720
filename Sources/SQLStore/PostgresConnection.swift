// PostgreSQL backend over libpq: PQexecParams with text parameters (binary BYTEA) and text results.

import CPostgres
#if canImport(Glibc)
import Glibc
#endif

/// One PostgreSQL connection (libpq). Not thread-safe: one thread at a time. Normally obtained from `SQLDatabase`.
///
/// Parameters are sent as text with unspecified types (the server infers them from context, so `$1`
/// compares with BIGINT, INT or BOOLEAN columns alike), except blobs, sent as binary BYTEA.
/// Results come back as text and are decoded by column type: INT2/4/8, OID → `.integer`,
/// BOOL → `.integer(0/1)`, FLOAT4/8 → `.real`, NUMERIC → `.integer` when integral else `.real`,
/// BYTEA → `.blob`, NULL → `.null`, everything else (TEXT, VARCHAR, timestamps, UUID, JSON…) → `.text`.
public final class PostgresConnection: SQLConnection, PooledConnection {
    public var dialect: SQLDialect { .postgres }
    /// Rows changed by the last INSERT/UPDATE/DELETE run through `query`.
    public private(set) var changes: Int = 0
    /// Where this connection goes, for messages (`host:port/dbname`, no password).
    public let endpoint: String

    private var conn: OpaquePointer?
    /// Server-side prepared statements by SQL text: parsed and planned once per connection.
    private var prepared: [String: String] = [:]
    private static let preparedLimit = 256

    /// Connects to `url` (`postgres://user:password@host:port/dbname`, `postgresql://…`, `?host=/socket/dir`,
    /// or a libpq `key=value` string). Throws SQLError(.other) for a malformed URL and
    /// SQLError(.connection) naming host and port when the server cannot be reached.
    public init(url: String) throws {
        let info = try PostgresURL(url)
        endpoint = info.endpoint
        // connect_timeout before dbname: a default that the URL's own `connect_timeout` overrides.
        let keywords = ["connect_timeout", "dbname"], settings = ["10", url]
        let connection = withCStrings(keywords) { k in withCStrings(settings) { v in PQconnectdbParams(k, v, 1) } }
        guard let c = connection else {
            throw SQLError(kind: .connection, message: "cannot connect to PostgreSQL at \(endpoint): out of memory")
        }
        guard PQstatus(c) == CONNECTION_OK else {
            let msg = Self.trim(String(cString: PQerrorMessage(c)))
            PQfinish(c)
            throw SQLError(kind: .connection, message: "cannot connect to PostgreSQL at \(endpoint): \(msg)")
        }
        conn = c
        // Notices (e.g. "relation already exists, skipping") are not errors; keep them off stderr.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
        PQsetClientEncoding(c, "UTF8")
    }

    deinit { close() }

    /// Closes the connection; later calls fail with `.connection`.
    public func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    var isBroken: Bool {
        guard let conn else { return true }
        return PQstatus(conn) != CONNECTION_OK
    }

    var inTransaction: Bool {
        guard let conn else { return false }
        return PQtransactionStatus(conn) != PQTRANS_IDLE
    }

    /// An idle connection has nothing to read; when the socket is readable the server sent something
    /// (typically "terminating connection" and EOF after a restart): consume it and look at the status.
    func checkAlive() -> Bool {
        guard let conn, PQstatus(conn) == CONNECTION_OK else { return false }
        let fd = PQsocket(conn)
        guard fd >= 0 else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let n = poll(&p, 1, 0)
        if n == 0 { return true }
        if n < 0 { return false }
        if p.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return false }
        if PQconsumeInput(conn) == 0 { return false }
        return PQstatus(conn) == CONNECTION_OK
    }

    @discardableResult
    public func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        guard let conn else {
            throw SQLError(kind: .connection, message: "PostgreSQL connection to \(endpoint) is closed", statement: SQLError.clip(sql))
        }
        let n = binds.count
        var types = [Oid](repeating: 0, count: n)
        var formats = [Int32](repeating: 0, count: n)
        var lengths = [Int32](repeating: 0, count: n)
        var values = [UnsafePointer<CChar>?](repeating: nil, count: n)
        var owned: [UnsafeMutableRawPointer] = []
        defer { for p in owned { p.deallocate() } }

        func copy(_ bytes: UnsafeRawBufferPointer, terminate: Bool) -> UnsafePointer<CChar> {
            let size = bytes.count + (terminate ? 1 : 0)
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 1)
            if let base = bytes.baseAddress, bytes.count > 0 { p.copyMemory(from: base, byteCount: bytes.count) }
            if terminate { p.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self) }
            owned.append(p)
            return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
        }
        func text(_ s: String) -> UnsafePointer<CChar> {
            var s = s
            return s.withUTF8 { copy(UnsafeRawBufferPointer($0), terminate: true) }
        }

        for (i, v) in binds.enumerated() {
            switch v {
            case .null:
                values[i] = nil
            case .integer(let x):
                values[i] = text(String(x))
            case .real(let x):
                values[i] = text(Self.format(x))
            case .text(let s):
                values[i] = text(s)
            case .blob(let b):
                values[i] = b.withUnsafeBytes { copy($0, terminate: false) }
                lengths[i] = Int32(b.count)
                formats[i] = 1
                types[i] = 17  // BYTEA
            }
        }

        _ = types  // parameter types are inferred by the server when the statement is prepared
        let name = try preparedName(for: sql, parameterCount: n, on: conn)
        let res = PQexecPrepared(conn, name, Int32(n), values, lengths, formats, 0)
        defer { PQclear(res) }
        guard let res else {
            throw SQLError(kind: .connection, message: "PostgreSQL at \(endpoint): \(Self.trim(String(cString: PQerrorMessage(conn))))",
                           statement: SQLError.clip(sql))
        }
        let status = PQresultStatus(res)
        switch status {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            changes = Int(String(cString: PQcmdTuples(res))) ?? 0
            return []
        case PGRES_TUPLES_OK:
            // PQcmdTuples counts SELECTed rows too; only data-changing commands (… RETURNING) count.
            let command = String(cString: PQcmdStatus(res))
            changes = command.hasPrefix("SELECT") ? 0 : Int(String(cString: PQcmdTuples(res))) ?? 0
            return decode(res)
        default:
            throw error(res, sql)
        }
    }

    /// The name of `sql` prepared on this connection, preparing it on first use. Parameter types
    /// are left to the server to infer from the statement (as for PQexecParams with type 0);
    /// blobs are sent in binary, everything else as text.
    private func preparedName(for sql: String, parameterCount: Int, on conn: OpaquePointer) throws -> String {
        if let name = prepared[sql] { return name }
        if prepared.count >= Self.preparedLimit {
            PQclear(PQexec(conn, "DEALLOCATE ALL"))
            prepared.removeAll()
        }
        let name = "signet_\(prepared.count + 1)"
        let res = PQprepare(conn, name, sql, Int32(parameterCount), nil)
        defer { PQclear(res) }
        guard let res else {
            throw SQLError(kind: .connection, message: "PostgreSQL at \(endpoint): \(Self.trim(String(cString: PQerrorMessage(conn))))",
                           statement: SQLError.clip(sql))
        }
        guard PQresultStatus(res) == PGRES_COMMAND_OK else { throw error(res, sql) }
        prepared[sql] = name
        return name
    }

    func runScript(_ script: String) throws {
        guard let conn else { throw SQLError(kind: .connection, message: "PostgreSQL connection to \(endpoint) is closed") }
        // PQexec runs several statements; its result is the last one's, or the first error.
        let res = PQexec(conn, script)
        defer { PQclear(res) }
        guard let res else {
            throw SQLError(kind: .connection, message: "PostgreSQL at \(endpoint): \(Self.trim(String(cString: PQerrorMessage(conn))))",
                           statement: SQLError.clip(script))
        }
        switch PQresultStatus(res) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            changes = Int(String(cString: PQcmdTuples(res))) ?? 0
        default:
            throw error(res, script)
        }
    }

    // MARK: - Internals

    private func decode(_ res: OpaquePointer) -> [SQLRow] {
        let rowCount = Int(PQntuples(res))
        let fieldCount = Int32(PQnfields(res))
        let columns = (0..<fieldCount).map { String(cString: PQfname(res, $0)) }
        let types = (0..<fieldCount).map { PQftype(res, $0) }
        var rows: [SQLRow] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<Int32(rowCount) {
            var values: [SQLValue] = []
            values.reserveCapacity(Int(fieldCount))
            for f in 0..<fieldCount {
                if PQgetisnull(res, r, f) != 0 { values.append(.null); continue }
                let length = Int(PQgetlength(res, r, f))
                let raw = UnsafeRawBufferPointer(start: PQgetvalue(res, r, f), count: length)
                values.append(Self.value(raw, type: types[Int(f)]))
            }
            rows.append(SQLRow(columns: columns, values: values))
        }
        return rows
    }

    static func value(_ raw: UnsafeRawBufferPointer, type: Oid) -> SQLValue {
        switch type {
        case 20, 21, 23, 26, 28:  // int8, int2, int4, oid, xid
            let s = String(decoding: raw, as: UTF8.self)
            if let i = Int64(s) { return .integer(i) }
            return .text(s)
        case 16:  // bool
            return .integer(raw.first == UInt8(ascii: "t") ? 1 : 0)
        case 700, 701:  // float4, float8
            return .real(parseDouble(String(decoding: raw, as: UTF8.self)))
        case 1700:  // numeric (e.g. SUM(bigint))
            let s = String(decoding: raw, as: UTF8.self)
            if let i = Int64(s) { return .integer(i) }
            return .real(parseDouble(s))
        case 17:  // bytea, text form: \x followed by hex
            return .blob(decodeBytea(raw))
        default:
            return .text(String(decoding: raw, as: UTF8.self))
        }
    }

    static func parseDouble(_ s: String) -> Double {
        switch s {
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        case "NaN": return .nan
        default: return Double(s) ?? .nan
        }
    }

    static func format(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
        return "\(d)"  // shortest representation that round-trips
    }

    static func decodeBytea(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        guard raw.count >= 2, raw[0] == UInt8(ascii: "\\"), raw[1] == UInt8(ascii: "x") else {
            return decodeEscapeBytea(raw)
        }
        @inline(__always) func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return 0
            }
        }
        let count = (raw.count - 2) / 2
        return [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            var j = 2
            for i in 0..<count {
                buf[i] = nibble(raw[j]) << 4 | nibble(raw[j + 1])
                j += 2
            }
            initialized = count
        }
    }

    /// The legacy `bytea_output = escape` form, in case a server is configured that way.
    static func decodeEscapeBytea(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let c = raw[i]
            if c == UInt8(ascii: "\\") {
                if i + 1 < raw.count, raw[i + 1] == UInt8(ascii: "\\") { out.append(c); i += 2; continue }
                if i + 3 < raw.count {
                    let d = raw[(i + 1)...(i + 3)].reduce(0) { ($0 << 3) | (Int($1) - 48) }
                    out.append(UInt8(truncatingIfNeeded: d)); i += 4; continue
                }
            }
            out.append(c); i += 1
        }
        return out
    }

    private func error(_ res: OpaquePointer, _ sql: String) -> SQLError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(res, Int32(code)).map { String(cString: $0) }
        }
        let state = field(UInt8(ascii: "C")) ?? ""
        var message = field(UInt8(ascii: "M")) ?? Self.trim(String(cString: PQresultErrorMessage(res)))
        if message.isEmpty, let conn { message = Self.trim(String(cString: PQerrorMessage(conn))) }
        if let detail = field(UInt8(ascii: "D")) { message += " (\(detail))" }
        if !state.isEmpty { message += " [SQLSTATE \(state)]" }
        let kind: SQLError.Kind
        if conn.map({ PQstatus($0) != CONNECTION_OK }) ?? true || state.hasPrefix("08") || state.hasPrefix("57P") {
            kind = .connection
            message = "PostgreSQL at \(endpoint): \(message)"
        } else if state == "40001" || state == "40P01" || state == "55P03" {
            kind = .conflict
        } else if state.hasPrefix("23") {
            kind = .constraint
        } else {
            kind = .other
        }
        return SQLError(kind: kind, message: message, statement: SQLError.clip(sql))
    }

    static func trim(_ s: String) -> String {
        var s = Substring(s)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

/// Runs `body` with a NULL-terminated C array of `strings`, valid for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// The parts of a PostgreSQL connection string that messages show (no password), validated by libpq.
struct PostgresURL {
    let host: String
    let port: String
    let database: String
    var endpoint: String { "\(host):\(port)/\(database)" }

    init(_ url: String) throws {
        var errmsg: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &errmsg) else {
            let msg = errmsg.map { PostgresConnection.trim(String(cString: $0)) } ?? "cannot parse"
            PQfreemem(errmsg)
            throw SQLError(kind: .other, message: "invalid PostgreSQL URL \(Self.redact(url)): \(msg)")
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var p = options
        while let keyword = p.pointee.keyword {
            if let val = p.pointee.val { values[String(cString: keyword)] = String(cString: val) }
            p += 1
        }
        let host = values["host"] ?? values["hostaddr"] ?? "localhost"
        self.host = host.isEmpty ? "localhost" : host
        let port = values["port"] ?? "5432"
        self.port = port.isEmpty ? "5432" : port
        for part in self.port.split(separator: ",") where UInt16(part) == nil {
            throw SQLError(kind: .other, message: "invalid PostgreSQL URL \(Self.redact(url)): port \"\(part)\" is not a number 1–65535")
        }
        database = values["dbname"] ?? values["user"] ?? ""
    }

    /// `url` with any password replaced by `***`.
    static func redact(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let userinfo = url[scheme.upperBound..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
