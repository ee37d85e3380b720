#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Attestation
import IMAFormat
import SignetCLI
import SignetCrypto
import Provenance
import Signing
import TPM
import TPMDevice
import VerifierConnection

/// Where the agent reads what it ships besides the quote, and how one evidence document is
/// put together from a quote: the one place `agent quote` and `agent run` assemble evidence.
struct EvidenceSources: ParsableArguments {
    static let defaultEventLog = EvidenceAssembly.defaultEventLog

    @Option(help: ArgumentHelp("The binary IMA log.", valueName: "file"))
    var log = EvidenceAssembly.defaultIMALog
    @Option(help: ArgumentHelp("The firmware's TCG event log, sent so the verifier can judge the measured boot "
                               + "(default: \(EvidenceSources.defaultEventLog), left out when the node has none).", valueName: "file"))
    var eventLog: String?
    @Flag(help: "Do not send the firmware event log.") var noEventLog = false

    func validate() throws {
        if noEventLog && eventLog != nil { throw ValidationError("--event-log and --no-event-log exclude each other") }
    }

    /// The firmware event log to send: nil with --no-event-log, or when the default file is
    /// absent (no UEFI TPM log: a direct kernel boot, a VM without a TPM). A file given with
    /// --event-log must be readable.
    func readEventLog() throws -> [UInt8]? {
        if noEventLog { return nil }
        guard let path = eventLog else {
            guard access(Self.defaultEventLog, R_OK) == 0 else { return nil }
            let bytes = try FileBytes.read(Self.defaultEventLog, limit: 16 << 20)
            return bytes.isEmpty ? nil : bytes
        }
        let bytes = try FileBytes.read(path, limit: 16 << 20)
        guard !bytes.isEmpty else { throw UsageError("\(path): the event log is empty") }
        return bytes
    }

    /// One evidence document for `quote` (`EvidenceAssembly.evidence`: call it after the quote).
    /// `from` picks the first entry sent from the log's bytes.
    func evidence(nonce: [UInt8], quote: TPMQuote, ak: AttestationKey, bootID: String,
                  from: ([UInt8]) throws -> LogPosition) throws -> (evidence: Evidence, start: LogPosition, sentBytes: Int) {
        let logBytes = try FileBytes.read(log, limit: 1 << 30)
        let start = try from(logBytes)
        let evidence = EvidenceAssembly.evidence(
            nonce: nonce, attest: quote.attest, signature: quote.signature, pcrs: quote.pcrs,
            akPublicArea: ak.publicArea, akPEM: String(decoding: try ak.publicKey().spkiPEM, as: UTF8.self),
            node: .init(kernelRelease: NodeFacts.kernelRelease(), bootID: bootID, hostname: NodeFacts.hostname()),
            log: logBytes, from: start, bootEventLog: try readEventLog())
        return (evidence, start, logBytes.count - start.byteOffset)
    }
}
