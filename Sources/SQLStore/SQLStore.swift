// SQLStore: one small SQL API over SQLite (embedded, the default) and PostgreSQL (fleets).
//
// INTERFACE CONTRACT (VerifierService is written against exactly this; keep the signatures).
// Statements use PostgreSQL-style positional placeholders `$1`, `$2`, … on both backends.

/// A value bound to, or read from, a SQL statement.
public enum SQLValue: Sendable, Equatable, Hashable {
    /// SQL NULL.
    case null
    /// A 64-bit integer (also booleans, as 0/1).
    case integer(Int64)
    /// A double-precision float.
    case real(Double)
    /// UTF-8 text.
    case text(String)
    /// Bytes (BLOB / BYTEA), returned exactly as stored.
    case blob([UInt8])
}

/// Which SQL engine a database is, for the few statements that differ (e.g. `FOR UPDATE SKIP LOCKED`).
public enum SQLDialect: String, Sendable {
    /// SQLite (libsqlite3): one file, the default.
    case sqlite
    /// PostgreSQL (libpq): shared by a fleet of verifiers.
    case postgres
}

/// One result row; columns by position or by name (as in the SELECT list).
public struct SQLRow: Sendable {
    /// Column names, in SELECT-list order.
    public let columns: [String]
    /// Values, parallel to `columns`.
    public let values: [SQLValue]
    /// A row from column names and their values (same count).
    public init(columns: [String], values: [SQLValue]) { self.columns = columns; self.values = values }
}

/// A failure from the database, with what the user needs to act on it.
public struct SQLError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Cannot connect / connection lost (the server restarted). Retrying later may work.
        case connection
        /// UNIQUE / PRIMARY KEY / FOREIGN KEY / CHECK violated.
        case constraint
        /// Serialization failure or deadlock (PostgreSQL 40001/40P01), SQLITE_BUSY/LOCKED: retry the transaction.
        case conflict
        /// Anything else (syntax, type, …).
        case other
    }
    /// What went wrong, for deciding what to do (retry, report a duplicate, …).
    public let kind: Kind
    /// A human-readable explanation (names the file, host and port, migration, or column concerned).
    public let message: String
    /// The statement that failed (first 200 characters), when there was one.
    public let statement: String?
    /// An error of `kind`; `statement` is the SQL that failed, if any.
    public init(kind: Kind, message: String, statement: String? = nil) { self.kind = kind; self.message = message; self.statement = statement }
    /// `message`, followed by the statement when there is one.
    public var description: String { statement.map { "\(message) (in: \($0))" } ?? message }
}

/// One schema step. `sql` may hold several statements separated by `;` and these tokens,
/// replaced per dialect: `{blob}` (BLOB / BYTEA), `{serial}` (INTEGER PRIMARY KEY AUTOINCREMENT /
/// BIGSERIAL PRIMARY KEY). Everything else must be SQL both engines accept.
public struct Migration: Sendable {
    /// Unique, increasing; recorded in `schema_migrations` once applied.
    public let version: Int
    /// A short description, recorded and used in error messages.
    public let name: String
    /// The statements (no parameters; no BEGIN/COMMIT: each migration already runs in a transaction).
    public let sql: String
    /// A migration step.
    public init(version: Int, name: String, sql: String) { self.version = version; self.name = name; self.sql = sql }
}

/// One open connection. Not thread-safe: used by one thread at a time, handed out by `SQLDatabase`.
public protocol SQLConnection: AnyObject {
    /// The engine behind this connection.
    var dialect: SQLDialect { get }
    /// Runs one statement with `$n` placeholders bound to `binds` and returns its rows (empty for non-queries).
    @discardableResult
    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow]
    /// Rows changed by the last INSERT/UPDATE/DELETE run through `query`.
    var changes: Int { get }
}
