#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import IMAFormat
import Synchronization

/// A `pkcs11:` URI (RFC 7512) naming a private key in a token, e.g.
/// `pkcs11:token=build-hsm;object=ima-signing` or `…;id=%01`.
/// `module-path=` (path or query attribute) chooses the PKCS#11 module; a PIN
/// in the URI (`pin-value=`) is refused: it would be on the command line.
public struct PKCS11URI: Sendable, Equatable {
    /// The URI as given.
    public let text: String
    /// Path and query attributes, percent-decoded (path attributes win).
    public let attributes: [String: String]
    /// The URI handed to the engine: the given one without `module-path`/`module-name`.
    public let engineURI: String

    public static func isPKCS11(_ s: String) -> Bool { s.lowercased().hasPrefix("pkcs11:") }

    public init(_ text: String) throws {
        guard PKCS11URI.isPKCS11(text) else {
            throw CryptoError(.notAPrivateKey, path: text, "not a pkcs11: URI")
        }
        self.text = text
        let body = text.dropFirst("pkcs11:".count)
        let parts = body.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let pathAttrs = parts[0].split(separator: ";", omittingEmptySubsequences: true)
        let queryAttrs = parts.count > 1 ? parts[1].split(separator: "&", omittingEmptySubsequences: true) : []
        var attrs = [String: String]()
        var keptPath = [Substring](), keptQuery = [Substring]()
        for (isPath, list) in [(true, pathAttrs), (false, queryAttrs)] {
            for item in list {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = kv[0].lowercased()
                let value = kv.count > 1 ? PKCS11URI.percentDecode(kv[1]) : ""
                if name == "pin-value" {
                    throw CryptoError(.notAPrivateKey, path: "pkcs11 URI",
                                      "a PIN in the URI (pin-value=) is refused: it would be visible in argv; give it with SIGNET_PKCS11_PIN or --passphrase-file")
                }
                if isPath || attrs[name] == nil { attrs[name] = value }
                if name == "module-path" || name == "module-name" { continue }
                if isPath { keptPath.append(item) } else { keptQuery.append(item) }
            }
        }
        attributes = attrs
        var uri = "pkcs11:" + keptPath.joined(separator: ";")
        if !keptQuery.isEmpty { uri += "?" + keptQuery.joined(separator: "&") }
        engineURI = uri
    }

    /// What the URI names, for messages: "object 'ima' in token 'build-hsm'".
    public var keyDescription: String {
        var what = [String]()
        if let o = attributes["object"] { what.append("object '\(o)'") }
        if let id = attributes["id"] {
            what.append("id " + id.utf8.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined())
        }
        if what.isEmpty { what.append("the first private key") }
        if let t = attributes["token"] { what.append("in token '\(t)'") }
        return what.joined(separator: " ")
    }

    static func percentDecode(_ s: Substring) -> String {
        var out = [UInt8]()
        var bytes = Array(s.utf8)[...]
        while let b = bytes.first {
            bytes = bytes.dropFirst()
            if b == UInt8(ascii: "%"), bytes.count >= 2,
               let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// One initialized libp11 engine per PKCS#11 module, kept for the life of the
/// process (finishing it would C_Finalize the module under keys still in use).
/// Key loads and logins run under `lock`. Signatures run in parallel: libp11
/// (≥ 0.4.11) initializes the module with CKF_OS_LOCKING_OK and takes a session
/// from its per-slot pool for each C_SignInit/C_Sign, so every concurrent
/// signing worker gets its own PKCS#11 session. `SIGNET_PKCS11_SERIAL=1`
/// serializes signatures per module for tokens that misbehave under concurrency.
final class PKCS11Engine: @unchecked Sendable {
    let engine: OpaquePointer
    let modulePath: String
    let lock = Mutex(())
    /// `SIGNET_PKCS11_SERIAL=1`: one signature at a time per module (under `lock`).
    let serializeSigning = getenv("SIGNET_PKCS11_SERIAL").map { String(cString: $0) == "1" } ?? false
    /// Token label → the PIN that logged in (guarded by `lock`). libp11 keeps a
    /// slot logged in and would accept any PIN afterwards; this makes a later
    /// load with a different PIN fail as a wrong PIN.
    var loggedInPINs = [String: String]()

    private init(engine: OpaquePointer, modulePath: String) {
        self.engine = engine
        self.modulePath = modulePath
    }

    private static let engines = Mutex<[String: PKCS11Engine]>([:])

    static func shared(modulePath: String) throws -> PKCS11Engine {
        try engines.withLock { engines in
            if let e = engines[modulePath] { return e }
            switch signet_pkcs11_module_check(modulePath) {
            case 0: break
            case 1:
                throw CryptoError(.fileUnreadable, path: modulePath,
                                  "PKCS#11 module not found: set module-path= in the URI or SIGNET_PKCS11_MODULE (SoftHSM: apt-get install softhsm2)")
            case 2:
                let why = dlerror().map { String(cString: $0) } ?? "dlopen failed"
                throw CryptoError(.fileUnreadable, path: modulePath, "cannot load the PKCS#11 module: \(why)")
            default:
                throw CryptoError(.fileUnreadable, path: modulePath, "not a PKCS#11 module (no C_GetFunctionList)")
            }
            OpenSSLErrors.clear()
            ENGINE_load_builtin_engines()
            guard let e = ENGINE_by_id("pkcs11") else {
                throw CryptoError.openssl("the OpenSSL PKCS#11 engine is not available (apt-get install libengine-pkcs11-openssl)",
                                          path: modulePath, code: .fileUnreadable)
            }
            // QUIET: the engine otherwise prints its own messages on stderr.
            _ = signet_engine_ctrl_no_input(e, "QUIET")
            guard ENGINE_ctrl_cmd_string(e, "MODULE_PATH", modulePath, 0) == 1, ENGINE_init(e) == 1 else {
                let err = CryptoError.openssl("cannot initialize the PKCS#11 engine", path: modulePath, code: .fileUnreadable)
                ENGINE_free(e)
                throw err
            }
            // ENGINE_init took a functional reference; drop the structural one.
            ENGINE_free(e)
            OpenSSLErrors.clear()
            let engine = PKCS11Engine(engine: e, modulePath: modulePath)
            engines[modulePath] = engine
            return engine
        }
    }
}

extension PrivateKey {
    /// The default PKCS#11 module: `$SIGNET_PKCS11_MODULE`, else SoftHSM2's.
    public static let pkcs11ModuleEnvironmentVariable = "SIGNET_PKCS11_MODULE"
    /// The token PIN when the caller gives none (`--passphrase-file` wins).
    public static let pkcs11PINEnvironmentVariable = "SIGNET_PKCS11_PIN"
    static let softHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

    /// Loads a private key that stays in a PKCS#11 token; signatures are made
    /// by the token through OpenSSL's libp11 "pkcs11" engine.
    /// - pin: nil → `$SIGNET_PKCS11_PIN`.
    /// - modulePath: nil → the URI's `module-path=`, `$SIGNET_PKCS11_MODULE`, SoftHSM2.
    public static func loadPKCS11(uri text: String, pin: String? = nil, modulePath: String? = nil) throws -> PrivateKey {
        let uri = try PKCS11URI(text)
        let source = uri.engineURI
        guard let module = modulePath ?? uri.attributes["module-path"]
                ?? getenv(pkcs11ModuleEnvironmentVariable).map({ String(cString: $0) })
                ?? (access(softHSMModule, R_OK) == 0 ? softHSMModule : nil) else {
            throw CryptoError(.fileUnreadable, path: source,
                              "no PKCS#11 module: give module-path= in the URI or set SIGNET_PKCS11_MODULE")
        }
        guard let pin = pin ?? getenv(pkcs11PINEnvironmentVariable).map({ String(cString: $0) }) else {
            throw CryptoError(.passphraseRequired, path: source,
                              "the token needs its user PIN: set SIGNET_PKCS11_PIN or use --passphrase-file")
        }
        let engine = try PKCS11Engine.shared(modulePath: module)
        let tokenKey = uri.attributes["token"] ?? ""
        let (loaded, pinMismatch): (OpaquePointer?, Bool) = engine.lock.withLock { _ in
            OpenSSLErrors.clear()
            if let previous = engine.loggedInPINs[tokenKey], previous != pin { return (nil, true) }
            guard ENGINE_ctrl_cmd_string(engine.engine, "PIN", pin, 0) == 1 else { return (nil, false) }
            // UI_null: never prompt on the terminal for a PIN.
            let key = ENGINE_load_private_key(engine.engine, uri.engineURI, UI_null(), nil)
            if key != nil { engine.loggedInPINs[tokenKey] = pin }
            return (key, false)
        }
        if pinMismatch {
            throw CryptoError(.wrongPassphrase, path: source,
                              "wrong PIN for token '\(tokenKey)' (not the PIN this process logged in with)")
        }
        guard let loaded else {
            let errors = OpenSSLErrors.drain()
            let lower = errors.lowercased()
            if lower.contains("pin incorrect") || lower.contains("pin invalid") || lower.contains("pin len") {
                throw CryptoError(.wrongPassphrase, path: source, "wrong PIN for token \(uri.attributes["token"].map { "'\($0)'" } ?? "")".trimmingSuffixSpace)
            }
            if lower.contains("pin locked") {
                throw CryptoError(.wrongPassphrase, path: source, "the token's user PIN is locked")
            }
            if let token = uri.attributes["token"], signet_pkcs11_token_present(module, token) == 0 {
                throw CryptoError(.notAPrivateKey, path: source,
                                  "no token labelled '\(token)' is present in PKCS#11 module \(module)")
            }
            if lower.contains("object not found") || lower.contains("failed loading private key") {
                throw CryptoError(.notAPrivateKey, path: source,
                                  "private key not found: \(uri.keyDescription) (module \(module))")
            }
            throw CryptoError(.notAPrivateKey, path: source, "cannot load the key from the token\(errors)")
        }
        let key = PrivateKey(owning: loaded, source: source, engine: engine)
        _ = try key.algorithm()
        return key
    }

    /// Signs through the engine: concurrently (libp11 gives each concurrent call
    /// its own session from the slot's pool), or one at a time per module with
    /// `SIGNET_PKCS11_SERIAL=1`.
    func signThroughEngine(_ engine: PKCS11Engine, digest: [UInt8], algorithm: HashAlgorithm) throws -> [UInt8] {
        guard engine.serializeSigning else {
            OpenSSLErrors.clear()
            return try signUnserialized(digest: digest, algorithm: algorithm)
        }
        return try engine.lock.withLock { _ in
            OpenSSLErrors.clear()
            return try signUnserialized(digest: digest, algorithm: algorithm)
        }
    }
}

private extension String {
    var trimmingSuffixSpace: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
