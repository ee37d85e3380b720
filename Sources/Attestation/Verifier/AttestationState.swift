#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat
import SignetCrypto
import StrictJSON
import TPM

/// What the verifier keeps about a node between rounds, so the next round
/// checks only new log entries and can tell a reboot from a rollback: the
/// TPM clock of the last verified quote, the log position verified up to
/// (entry index and byte offset) and the PCR values the entries before it
/// produce. Codable (JSON) for storage; written only after a passing round.
///
/// A state is bound to the node's attestation key (`attestationKeyFingerprint`):
/// the verifier refuses a state made with another AK (another node's state
/// file) or with none (a version 1 state, written before the binding).
public struct AttestationState: Sendable, Equatable, Codable {
    /// The state format: 2 since states are bound to the AK.
    public var version: Int
    /// The AK whose quotes this state follows (`AttestationState.fingerprint(of:)`).
    /// Nil only in a state written before version 2, which the verifier refuses.
    public var attestationKeyFingerprint: String?
    /// TPMS_CLOCK_INFO.clock of the last verified quote (ms).
    public var clock: UInt64
    /// TPMS_CLOCK_INFO.resetCount: TPM resets, i.e. boots.
    public var resetCount: UInt32
    /// TPMS_CLOCK_INFO.restartCount: restarts (resume from hibernation) since the reset.
    public var restartCount: UInt32
    /// The node's boot id at that round (informational).
    public var bootID: String
    /// The node's kernel release at that round (informational).
    public var kernelRelease: String
    /// The next entry to verify: the agent sends the log from here.
    public var nextEntry: Int
    /// Byte offset of `nextEntry` in the node's binary log.
    public var nextOffset: Int
    /// PCR values after the entries before `nextEntry`: bank name → PCR index → hex.
    public var pcrValues: [String: [String: String]]
    /// The log's template digest algorithm and byte order, and the extend
    /// mode: a later round must read the log the same way to resume.
    public var templateDigestAlgorithm: String
    public var byteOrder: String
    public var extendMode: String

    public static let currentVersion = 2

    init(clock: TPMSAttest.ClockInfo, node: Evidence.NodeIdentity, checkpoint: MeasurementLogCheckpoint,
         log: Evidence.Log, extendMode: PCRExtendMode, attestationKeyFingerprint: String?) {
        version = Self.currentVersion
        self.attestationKeyFingerprint = attestationKeyFingerprint
        self.clock = clock.clock
        resetCount = clock.resetCount
        restartCount = clock.restartCount
        bootID = node.bootID
        kernelRelease = node.kernelRelease
        nextEntry = checkpoint.position.entryIndex
        nextOffset = checkpoint.position.byteOffset
        var values = [String: [String: String]]()
        for (bank, pcrs) in checkpoint.pcrValues {
            values[bank.name] = Dictionary(uniqueKeysWithValues: pcrs.map { ("\($0.key)", Hex.encode($0.value)) })
        }
        pcrValues = values
        templateDigestAlgorithm = log.templateDigestAlgorithm.name
        byteOrder = log.byteOrder == .littleEndian ? "little-endian" : "big-endian"
        self.extendMode = Self.name(of: extendMode)
    }

    /// Where the log was verified up to, and the PCR values there; nil when a
    /// stored value does not parse (the verifier then asks for the full log).
    public var checkpoint: MeasurementLogCheckpoint? {
        guard nextEntry >= 0, nextOffset >= 0 else { return nil }
        var values = [HashAlgorithm: [UInt32: [UInt8]]]()
        for (bankName, pcrs) in pcrValues {
            guard let bank = HashAlgorithm(name: bankName) else { return nil }
            var bankValues = [UInt32: [UInt8]]()
            for (index, hex) in pcrs {
                guard let pcr = UInt32(index), let value = Hex.decode(hex), value.count == bank.digestLength else { return nil }
                bankValues[pcr] = value
            }
            values[bank] = bankValues
        }
        return MeasurementLogCheckpoint(position: LogPosition(entryIndex: nextEntry, byteOffset: nextOffset), pcrValues: values)
    }

    /// The fingerprint a state records for an AK: `sha256:` and the lower-case hex SHA-256 of
    /// the key's SubjectPublicKeyInfo DER (what `openssl pkey -pubin -in ak.pem -outform DER |
    /// sha256sum` prints).
    public static func fingerprint(of key: PublicKey) -> String {
        "sha256:" + Hex.encode(Digester.hash(key.spkiDER, .sha256))
    }

    /// Whether this state was made with `key` as the AK (false for a state that names no AK).
    public func isBound(to key: PublicKey) -> Bool {
        attestationKeyFingerprint == Self.fingerprint(of: key)
    }

    /// Decodes a stored state: strict JSON first (`StrictJSON`: no key twice, no byte order
    /// mark), then the fields. The error names the JSON path and, for syntax, the byte offset.
    public static func decode(_ bytes: [UInt8]) throws(AttestationStateError) -> AttestationState {
        do {
            try StrictJSON.validate(bytes)
        } catch {
            throw AttestationStateError(field: error.path, offset: error.offset, reason: error.reason)
        }
        do {
            return try JSONDecoder().decode(AttestationState.self, from: Data(bytes))
        } catch let error as DecodingError {
            let (_, field, reason) = JSONFieldPath.describe(error)
            throw AttestationStateError(field: field, offset: nil, reason: reason)
        } catch {
            throw AttestationStateError(field: "", offset: nil, reason: "\(error)")
        }
    }

    /// The extend mode's stored name.
    static func name(of mode: PCRExtendMode) -> String {
        mode == .paddedSHA1 ? "padded-sha1" : "per-bank"
    }
}

/// Why stored state bytes are not an `AttestationState`: the JSON path concerned (`""` for the
/// document), the byte offset when the JSON itself is at fault, and what is wrong.
public struct AttestationStateError: Error, Sendable, CustomStringConvertible {
    /// The JSON path of the field (`""` for the whole document).
    public let field: String
    /// The byte offset in the document, for a JSON syntax problem.
    public let offset: Int?
    /// What is wrong.
    public let reason: String

    public var description: String {
        let at = offset.map { " (byte \($0))" } ?? ""
        return field.isEmpty ? "state\(at): \(reason)" : "state field \(field)\(at): \(reason)"
    }
}
