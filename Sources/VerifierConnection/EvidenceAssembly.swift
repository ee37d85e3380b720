#if canImport(Glibc)
import Glibc
#endif
import Attestation
import IMAFormat
import Provenance
import SignetCrypto
import TPM

/// How an agent puts one evidence document together from a quote: the one place `agent quote`,
/// `agent run` and the fleet benchmark assemble evidence (so a change to the protocol, such as
/// the quote-before-log order or the firmware event log, is made once).
public enum EvidenceAssembly {
    /// The IMA measurement log as the kernel exposes it.
    public static let defaultIMALog = "/sys/kernel/security/ima/binary_runtime_measurements"
    /// The firmware's TCG event log as the kernel exposes it on a UEFI machine with a TPM.
    public static let defaultEventLog = "/sys/kernel/security/tpm0/binary_bios_measurements"

    /// The evidence for a quote. Read the IMA log *after* quoting: it then holds every entry
    /// the quoted PCR covers (entries measured in between only trail the match, which the
    /// verifier allows); read first, a measurement in between would leave the quote ahead of the
    /// log and fail an honest node. `log` is the whole log; the evidence carries it from `start`.
    public static func evidence(nonce: [UInt8], attest: [UInt8], signature: [UInt8], pcrs: [PCRValue],
                                akPublicArea: TPMPublic?, akPEM: String?, node: Evidence.NodeIdentity,
                                log: [UInt8], from start: LogPosition, bootEventLog: [UInt8]?,
                                created: String = Manifest.timestamp(Int(time(nil)))) -> Evidence {
        Evidence(created: created, nonce: nonce, node: node, quote: .init(attest: attest, signature: signature), pcrs: pcrs,
                 attestationKey: .init(publicArea: akPublicArea, pem: akPEM),
                 log: .init(data: Array(log[min(start.byteOffset, log.count)...]), start: start),
                 bootEventLog: bootEventLog)
    }
}

/// What the node says about itself in evidence (not trusted by the verifier: checked against the log).
public enum NodeFacts {
    public static func hostname() -> String {
        var uts = utsname()
        uname(&uts)
        return withUnsafeBytes(of: uts.nodename) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    /// `uname -r`.
    public static func kernelRelease() -> String {
        var uts = utsname()
        uname(&uts)
        return withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    /// /proc/sys/kernel/random/boot_id, or "unknown".
    public static func bootID() -> String {
        (try? FileBytes.read("/proc/sys/kernel/random/boot_id", limit: 64))
            .map { String(decoding: $0, as: UTF8.self).filter { !$0.isWhitespace } } ?? "unknown"
    }
}
