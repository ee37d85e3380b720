#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat
import SignetCrypto
import StrictJSON

/// The provenance manifest: what was signed, by which key, from which build.
/// JSON Lines: a header object, then one object per path, ordered by path bytes.
/// The verifier trusts it as the reference for a node's measurements, so it is
/// signed itself (`MANIFEST.sig`, see `ManifestSignature`).
public struct Manifest: Equatable, Sendable {
    public var header: Header
    public var entries: [Entry]

    public init(header: Header, entries: [Entry]) {
        self.header = header
        self.entries = entries.sorted { $0.path < $1.path }
    }

    /// First line of the file.
    public struct Header: Codable, Equatable, Sendable {
        public var format = "signet-manifest"
        public var version = 1
        public var buildID: String
        /// RFC 3339 UTC; from SOURCE_DATE_EPOCH when set, for reproducible builds.
        public var created: String
        public var tool: String
        public var hashAlgorithm: String
        public var signer: Signer
        /// True when signatures live only in this manifest (not yet in xattrs).
        public var detached: Bool

        public init(buildID: String, created: String, tool: String, hashAlgorithm: HashAlgorithm,
                    signer: Signer, detached: Bool) {
            self.buildID = buildID
            self.created = created
            self.tool = tool
            self.hashAlgorithm = hashAlgorithm.name
            self.signer = signer
            self.detached = detached
        }

        enum CodingKeys: String, CodingKey {
            case format, version, created, tool, signer, detached
            case buildID = "build_id"
            case hashAlgorithm = "hash_algorithm"
        }
    }

    /// The certificate that signed the files and the manifest.
    public struct Signer: Codable, Equatable, Sendable {
        public var keyid: String
        /// "sha256:<hex>" over the certificate DER.
        public var fingerprint: String
        public var subject: String

        public init(certificate: Certificate) {
            keyid = KeyID.hex(certificate.imaKeyID)
            fingerprint = "sha256:" + Hex.encode(certificate.fingerprintSHA256)
            subject = certificate.subject
        }
    }

    /// One path of the image. Hard links each get an entry with the same content fields.
    public struct Entry: Equatable, Sendable {
        /// The path inside the image ("/usr/bin/ls"), exact bytes.
        public var path: FilePath
        public var size: Int64
        /// st_mode (type and permission bits).
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var digestAlgorithm: HashAlgorithm
        public var digest: [UInt8]
        public var keyID: UInt32
        /// "sha256:<hex>" of the signer certificate.
        public var signer: String
        /// The security.ima value that was (or is to be) set.
        public var imaXattr: [UInt8]

        public init(path: FilePath, size: Int64, mode: UInt32, uid: UInt32, gid: UInt32,
                    digestAlgorithm: HashAlgorithm, digest: [UInt8], keyID: UInt32, signer: String, imaXattr: [UInt8]) {
            self.path = path
            self.size = size
            self.mode = mode
            self.uid = uid
            self.gid = gid
            self.digestAlgorithm = digestAlgorithm
            self.digest = digest
            self.keyID = keyID
            self.signer = signer
            self.imaXattr = imaXattr
        }

        /// "sha256:<hex>".
        public var digestString: String { "\(digestAlgorithm.name):\(Hex.encode(digest))" }
    }

    /// On-disk form of an entry: `path` when the path is UTF-8, else `path_hex`.
    private struct EntryLine: Codable {
        var path: String?
        var pathHex: String?
        var size: Int64
        var mode: String
        var uid: UInt32
        var gid: UInt32
        var digest: String
        var keyid: String
        var signer: String
        var ima: String

        enum CodingKeys: String, CodingKey {
            case path, size, mode, uid, gid, digest, keyid, signer, ima
            case pathHex = "path_hex"
        }
    }

    /// The file's bytes: deterministic (sorted keys, entries by path, "\n" line ends).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = [UInt8]()
        out.append(contentsOf: try! encoder.encode(header))
        out.append(0x0a)
        for e in entries {
            let text = e.path.utf8String
            let line = EntryLine(
                path: text, pathHex: text == nil ? Hex.encode(e.path.bytes) : nil,
                size: e.size, mode: String(e.mode, radix: 8).leftPadded(6), uid: e.uid, gid: e.gid,
                digest: e.digestString, keyid: KeyID.hex(e.keyID), signer: e.signer, ima: Hex.encode(e.imaXattr))
            out.append(contentsOf: try! encoder.encode(line))
            out.append(0x0a)
        }
        return out
    }

    /// Parses and validates a manifest: header first, every entry complete and
    /// well-formed, paths strictly ascending (no duplicates). Errors name the line.
    public init(parsing bytes: [UInt8], source: String = "manifest") throws {
        let decoder = JSONDecoder()
        var lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else {
            throw ManifestError(source: source, line: 1, field: nil, reason: "the manifest is empty")
        }
        // Each line strict JSON first (no key twice, no byte order mark): one manifest, one meaning.
        func strict(_ line: ArraySlice<UInt8>, _ number: Int) throws {
            do { try StrictJSON.validate(line) } catch {
                let what = number == 1 ? "not a Signet manifest header" : "malformed entry"
                throw ManifestError(source: source, line: number, field: error.path.isEmpty ? nil : error.path,
                                    reason: "\(what): not strict JSON at byte \(error.offset) of the line: \(error.reason)")
            }
        }
        try strict(first, 1)
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: Data(first))
        } catch {
            throw ManifestError(source: source, line: 1, field: Self.field(of: error),
                                reason: "not a Signet manifest header: \(Self.describe(error))")
        }
        guard header.format == "signet-manifest", header.version == 1 else {
            throw ManifestError(source: source, line: 1, field: "version",
                                reason: "unsupported manifest format \(header.format) version \(header.version) (expected signet-manifest 1)")
        }
        guard HashAlgorithm(name: header.hashAlgorithm) != nil else {
            throw ManifestError(source: source, line: 1, field: "hash_algorithm",
                                reason: "unknown hash algorithm '\(header.hashAlgorithm)'")
        }
        var entries = [Entry]()
        entries.reserveCapacity(lines.count - 1)
        for (index, raw) in lines.enumerated().dropFirst() {
            let lineNumber = index + 1
            func fail(_ field: String?, _ reason: String) -> ManifestError {
                ManifestError(source: source, line: lineNumber, field: field, reason: reason)
            }
            try strict(raw, lineNumber)
            let line: EntryLine
            do {
                line = try decoder.decode(EntryLine.self, from: Data(raw))
            } catch {
                throw fail(Self.field(of: error), "malformed entry: \(Self.describe(error))")
            }
            let path: FilePath
            switch (line.path, line.pathHex) {
            case (let p?, nil): path = FilePath(p)
            case (nil, let h?):
                guard let b = Hex.decode(h) else { throw fail("path_hex", "not hex") }
                path = FilePath(bytes: b)
            default: throw fail("path", "exactly one of path and path_hex is required")
            }
            guard path.bytes.first == UInt8(ascii: "/") || !path.bytes.isEmpty else { throw fail("path", "empty path") }
            let parts = line.digest.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let algorithm = HashAlgorithm(name: String(parts[0])),
                  let digest = Hex.decode(parts[1]), digest.count == algorithm.digestLength else {
                throw fail("digest", "expected '<algorithm>:<hex digest>', found '\(line.digest)'")
            }
            guard let mode = UInt32(line.mode, radix: 8) else { throw fail("mode", "not an octal mode: '\(line.mode)'") }
            guard let keyID = KeyID.parse(line.keyid) else { throw fail("keyid", "expected 8 hex digits, found '\(line.keyid)'") }
            guard let ima = Hex.decode(line.ima) else { throw fail("ima", "not hex") }
            do { _ = try IMAXattr(bytes: ima) } catch { throw fail("ima", "not a valid security.ima value: \(error)") }
            guard line.size >= 0 else { throw fail("size", "negative size") }
            let entry = Entry(path: path, size: line.size, mode: mode, uid: line.uid, gid: line.gid,
                              digestAlgorithm: algorithm, digest: digest, keyID: keyID, signer: line.signer, imaXattr: ima)
            if let previous = entries.last, !(previous.path < entry.path) {
                throw fail("path", previous.path == entry.path ? "duplicate path \(entry.path)"
                                                               : "entries are not in path order at \(entry.path)")
            }
            entries.append(entry)
        }
        self.header = header
        self.entries = entries
    }

    private static func field(of error: Error) -> String? {
        switch error as? DecodingError {
        case .keyNotFound(let key, _): return key.stringValue
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return c.codingPath.last?.stringValue
        default: return nil
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case .typeMismatch(let type, let c): return "field '\(c.codingPath.last?.stringValue ?? "?")' is not \(type)"
        case .valueNotFound(_, let c): return "field '\(c.codingPath.last?.stringValue ?? "?")' is null"
        case .dataCorrupted: return "invalid JSON"
        default: return "\(error)"
        }
    }
}

/// Why a manifest was refused: the file, the line and the field.
public struct ManifestError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var line: Int
    public var field: String?
    public var reason: String

    public var description: String {
        "\(source):\(line)" + (field.map { " (\($0))" } ?? "") + ": \(reason)"
    }
}

/// The manifest's own detached signature: a plain signature over SHA-256 of
/// the manifest bytes with the signing key, the same bytes as
/// `openssl dgst -sha256 -sign KEY -out MANIFEST.sig MANIFEST`, so it can be
/// checked without Signet too.
public enum ManifestSignature {
    public static func sign(_ manifest: [UInt8], with key: PrivateKey) throws -> [UInt8] {
        try key.sign(digest: Digester.hash(manifest, .sha256), algorithm: .sha256)
    }

    /// Checks the signature with the trusted certificate whose fingerprint the
    /// header names. Throws naming what failed.
    public static func verify(_ manifestBytes: [UInt8], signature: [UInt8], trusted: [Certificate],
                              source: String) throws -> Certificate {
        let manifest = try Manifest(parsing: manifestBytes, source: source)
        let wanted = manifest.header.signer.fingerprint
        guard let cert = trusted.first(where: { "sha256:" + Hex.encode($0.fingerprintSHA256) == wanted }) else {
            throw ManifestError(source: source, line: 1, field: "signer",
                                reason: "signed by '\(manifest.header.signer.subject)' (\(wanted)), which is not among the trusted certificates given")
        }
        guard cert.publicKey.verify(signature: signature, digest: Digester.hash(manifestBytes, .sha256), algorithm: .sha256) else {
            throw ManifestError(source: source, line: 0, field: nil,
                                reason: "the manifest signature does not verify with '\(cert.subject)': the manifest or its .sig was altered")
        }
        return cert
    }
}

extension Manifest {
    /// RFC 3339 UTC for `epochSeconds`.
    public static func timestamp(_ epochSeconds: Int) -> String {
        Certificate.format(epochSeconds).replacingSpaceWithT()
    }
}

private extension String {
    /// "2026-11-26 23:00:00 UTC" → "2026-11-26T23:00:00Z".
    func replacingSpaceWithT() -> String {
        var s = self
        if s.hasSuffix(" UTC") { s.removeLast(4); s += "Z" }
        return String(s.map { $0 == " " ? "T" : $0 })
    }
}
