#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Attestation
import IMAFormat
import SignetCLI
import SignetCrypto
import Signing
import TPM

/// Where the agent reads what it ships besides the quote, and how one evidence document is
/// put together from a quote: the one place `agent quote` and `agent run` assemble evidence.
struct EvidenceSources: ParsableArguments {
    /// The firmware's TCG event log as the kernel exposes it on a UEFI machine with a TPM.
    static let defaultEventLog = "/sys/kernel/security/tpm0/binary_bios_measurements"

    @Option(help: ArgumentHelp("The binary IMA log.", valueName: "file"))
    var log = "/sys/kernel/security/ima/binary_runtime_measurements"
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

    /// One evidence document for `quote`. Call it after the quote: the IMA log read then holds
    /// every entry the quoted PCR covers (entries measured in between only trail the match,
    /// which the verifier allows); read first, a measurement in between would leave the quote
    /// ahead of the log and fail an honest node. `from` picks the first entry sent from the log's bytes.
    func evidence(nonce: [UInt8], quote: TPMQuote, ak: AttestationKey, bootID: String,
                  from: ([UInt8]) throws -> LogPosition) throws -> (evidence: Evidence, start: LogPosition, sentBytes: Int) {
        let logBytes = try FileBytes.read(log, limit: 1 << 30)
        let start = try from(logBytes)
        let evidence = Evidence(
            created: Manifest.timestamp(Int(time(nil))), nonce: nonce,
            node: .init(kernelRelease: NodeFacts.kernelRelease(), bootID: bootID, hostname: NodeFacts.hostname()),
            quote: .init(attest: quote.attest, signature: quote.signature), pcrs: quote.pcrs,
            attestationKey: .init(publicArea: ak.publicArea, pem: String(decoding: try ak.publicKey().spkiPEM, as: UTF8.self)),
            log: .init(data: Array(logBytes[start.byteOffset...]), start: start),
            bootEventLog: try readEventLog())
        return (evidence, start, logBytes.count - start.byteOffset)
    }
}

/// What the node says about itself in evidence (not trusted by the verifier: checked against the log).
enum NodeFacts {
    static func hostname() -> String {
        var uts = utsname()
        uname(&uts)
        return withUnsafeBytes(of: uts.nodename) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    /// `uname -r`.
    static func kernelRelease() -> String {
        var uts = utsname()
        uname(&uts)
        return withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    /// /proc/sys/kernel/random/boot_id, or "unknown".
    static func bootID() -> String {
        (try? FileBytes.read("/proc/sys/kernel/random/boot_id", limit: 64))
            .map { String(decoding: $0, as: UTF8.self).filter { !$0.isWhitespace } } ?? "unknown"
    }
}
