// Typed access to result rows, and a few conveniences on values and connections.

extension SQLValue {
    /// The value's kind as named in error messages: `null`, `integer`, `real`, `text` or `blob`.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .integer: return "integer"
        case .real: return "real"
        case .text: return "text"
        case .blob: return "blob"
        }
    }

    /// True for `.null`.
    public var isNull: Bool { if case .null = self { return true } else { return false } }
}

extension SQLRow {
    /// The value of column `name`; a missing column is a programming error reported as SQLError(.other).
    public func value(_ name: String) throws -> SQLValue {
        guard let i = columns.firstIndex(of: name) else {
            throw SQLError(kind: .other, message: "no column \(name) in the result (columns: \(columns.joined(separator: ", ")))")
        }
        return values[i]
    }

    /// The value of column `name`, or nil when the row has no such column.
    public subscript(_ name: String) -> SQLValue? {
        columns.firstIndex(of: name).map { values[$0] }
    }

    /// Column `name` as an integer; NULL or another type is an error (`column X is text, expected integer`).
    public func integer(_ name: String) throws -> Int64 {
        let v = try value(name)
        if case .integer(let i) = v { return i }
        throw mismatch(name, v, "integer")
    }

    /// Column `name` as a floating-point number; an integer value is converted, NULL or another type is an error.
    public func real(_ name: String) throws -> Double {
        let v = try value(name)
        switch v {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        default: throw mismatch(name, v, "real")
        }
    }

    /// Column `name` as text; NULL or another type is an error.
    public func text(_ name: String) throws -> String {
        let v = try value(name)
        if case .text(let s) = v { return s }
        throw mismatch(name, v, "text")
    }

    /// Column `name` as bytes; NULL or another type is an error.
    public func blob(_ name: String) throws -> [UInt8] {
        let v = try value(name)
        if case .blob(let b) = v { return b }
        throw mismatch(name, v, "blob")
    }

    /// Column `name` as an integer, nil for NULL; another type is an error.
    public func optionalInteger(_ name: String) throws -> Int64? {
        if try value(name).isNull { return nil }
        return try integer(name)
    }

    /// Column `name` as a floating-point number, nil for NULL; another type (except integer) is an error.
    public func optionalReal(_ name: String) throws -> Double? {
        if try value(name).isNull { return nil }
        return try real(name)
    }

    /// Column `name` as text, nil for NULL; another type is an error.
    public func optionalText(_ name: String) throws -> String? {
        if try value(name).isNull { return nil }
        return try text(name)
    }

    /// Column `name` as bytes, nil for NULL; another type is an error.
    public func optionalBlob(_ name: String) throws -> [UInt8]? {
        if try value(name).isNull { return nil }
        return try blob(name)
    }

    private func mismatch(_ name: String, _ v: SQLValue, _ expected: String) -> SQLError {
        SQLError(kind: .other, message: "column \(name) is \(v.typeName), expected \(expected)")
    }
}

extension SQLConnection {
    /// Runs one statement without parameters.
    @discardableResult
    public func query(_ sql: String) throws -> [SQLRow] { try query(sql, []) }

    /// Runs one INSERT/UPDATE/DELETE and returns the number of rows it changed.
    @discardableResult
    public func execute(_ sql: String, _ binds: [SQLValue] = []) throws -> Int {
        try query(sql, binds)
        return changes
    }

    /// Runs several `;`-separated statements without parameters (a migration script).
    /// Both engines run them natively (sqlite3_exec / PQexec); other conformers split on `;`.
    public func executeScript(_ script: String) throws {
        if let native = self as? ScriptExecuting {
            try native.runScript(script)
            return
        }
        for statement in script.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
            try query(String(statement), [])
        }
    }
}

/// What the pool needs from a connection beyond `SQLConnection`.
protocol ScriptExecuting: AnyObject {
    func runScript(_ script: String) throws
}

protocol PooledConnection: SQLConnection, ScriptExecuting {
    /// The connection can no longer be used (lost, closed).
    var isBroken: Bool { get }
    /// A transaction is open (or aborted and not yet rolled back).
    var inTransaction: Bool { get }
    /// A cheap check before reuse from the pool: false when the server closed the connection meanwhile.
    func checkAlive() -> Bool
}

extension SQLError {
    /// `statement` shortened to what `SQLError.statement` documents (first 200 characters).
    static func clip(_ sql: String?) -> String? {
        guard let sql else { return nil }
        return sql.count > 200 ? String(sql.prefix(200)) + "…" : sql
    }
}
