import Foundation
import XCTest
import Attestation
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport
import TPM

/// A software stand-in for the node's TPM, for unit tests of the verifier
/// logic: PCR banks, a clock, and quotes signed with a real RSA key whose
/// public part is presented as a TPM AK (restricted signing key).
final class SoftwareTPM {
    let akKey: PrivateKey
    let akPublic: TPMPublic
    var pcrs: [HashAlgorithm: [Int: [UInt8]]] = [:]
    var clock: UInt64 = 5_000_000
    var resetCount: UInt32 = 7
    var restartCount: UInt32 = 0
    var safe = true

    init(akKey: PrivateKey) {
        self.akKey = akKey
        akPublic = SoftwareTPM.publicArea(of: akKey)
        powerOn()
    }

    /// Firmware PCRs 0-9 get fixed values; PCR 10 starts at zeros.
    func powerOn(firmwareSeed: UInt8 = 1) {
        for bank in [HashAlgorithm.sha1, .sha256] {
            var values = [Int: [UInt8]]()
            for pcr in 0..<24 { values[pcr] = [UInt8](repeating: 0, count: bank.digestLength) }
            for pcr in 0...9 { values[pcr] = Digester.hash([firmwareSeed, UInt8(pcr)], bank) }
            pcrs[bank] = values
        }
    }

    /// Reboot: a TPM reset, PCRs back to the firmware values.
    func reboot() {
        resetCount += 1
        restartCount = 0
        clock += 60_000
        powerOn()
    }

    func bootAggregate(_ bank: HashAlgorithm = .sha256) -> [UInt8] {
        let indices = bank == .sha1 ? Array(0...7) : Array(0...9)
        return Digester.hash(indices.flatMap { pcrs[bank]![$0]! }, bank)
    }

    /// Extends the PCRs for entries as the kernel would.
    func measure(_ entries: [TestLogEntry]) {
        for entry in entries {
            for bank in [HashAlgorithm.sha1, .sha256] {
                let old = pcrs[bank]![Int(entry.pcr)]!
                pcrs[bank]![Int(entry.pcr)] = Digester.hash(old + TestLogEncoder.extendValue(entry, bank: bank), bank)
            }
        }
    }

    /// A quote over `selection` for `nonce`: TPMS_ATTEST, TPMT_SIGNATURE
    /// (RSASSA-SHA256 with the AK), and the PCR values.
    func quote(nonce: [UInt8], selection: PCRSelection = PCRSelection([.init(.sha256, pcrs: 0...10), .init(.sha1, pcrs: [10])]))
        -> (quote: Evidence.Quote, pcrs: [PCRValue])
    {
        var values = [PCRValue]()
        for (bank, index) in selection.selected {
            values.append(PCRValue(bank: bank, index: index, digest: pcrs[bank.hashAlgorithm!]![index]!))
        }
        let attest = TPMSAttest(qualifiedSigner: [0x00, 0x0b] + [UInt8](repeating: 0x42, count: 32), extraData: nonce,
                                clockInfo: .init(clock: clock, resetCount: resetCount, restartCount: restartCount, safe: safe),
                                firmwareVersion: 0x2023_0101, pcrSelection: selection,
                                pcrDigest: QuoteVerifier.pcrDigest(values, hash: .sha256))
        let signature = try! akKey.sign(digest: Digester.hash(attest.marshaled, .sha256), algorithm: .sha256)
        return (Evidence.Quote(attest: attest.marshaled, signature: TPMSignature.rsassa(hash: .sha256, signature: signature).marshaled),
                values)
    }

    /// The AK's TPM2B_PUBLIC contents: RSA-2048 RSASSA-SHA256, restricted|sign|fixedTPM|fixedParent.
    static func publicArea(of key: PrivateKey) -> TPMPublic {
        let (modulus, exponent) = rsaModulus(key.publicKey.subjectPublicKeyBits)
        return TPMPublic(nameAlg: .sha256, attributes: TPMTemplates.attestationKeyAttributes,
                         parameters: .rsa(TPMRSAParameters(symmetric: .null, scheme: TPMScheme(.rsassa, hash: .sha256),
                                                           keyBits: UInt16(modulus.count * 8), exponent: exponent == 65537 ? 0 : exponent)),
                         unique: .rsa(modulus: modulus))
    }

    /// n and e of an RSAPublicKey DER `SEQUENCE { INTEGER n, INTEGER e }`.
    static func rsaModulus(_ der: [UInt8]) -> ([UInt8], UInt32) {
        var i = 0
        func length() -> Int {
            let first = Int(der[i]); i += 1
            guard first & 0x80 != 0 else { return first }
            var n = 0
            for _ in 0..<(first & 0x7f) { n = n << 8 | Int(der[i]); i += 1 }
            return n
        }
        precondition(der[i] == 0x30); i += 1; _ = length()
        precondition(der[i] == 0x02); i += 1
        let nLength = length()
        let n = Array(der[i..<(i + nLength)].drop(while: { $0 == 0 })); i += nLength
        precondition(der[i] == 0x02); i += 1
        let eLength = length()
        let e = der[i..<(i + eLength)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (n, e)
    }
}

/// Keys shared by all tests of the process (RSA key generation is slow).
enum SharedKeys {
    static let dir = TempDir("signet-attest", forProcess: true)
    nonisolated(unsafe) static let ima = try! KeyFixture(in: dir, name: "ima")
    nonisolated(unsafe) static let rogue = try! KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "rogue")
    static let ak = try! PrivateKey.generate(.rsa(bits: 2048))
    static let otherAK = try! PrivateKey.generate(.rsa(bits: 2048))
}

/// One node's world for a test: its TPM, its log so far, and a reference
/// with the enterprise's certificate and a manifest.
final class NodeScenario {
    let tpm = SoftwareTPM(akKey: SharedKeys.ak)
    var entries: [TestLogEntry] = []
    let kernelRelease = "6.12.9-amd64"
    var bootID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    var reference: Reference

    /// Digests of a few files: signed, listed in the manifest, or neither.
    let lsDigest = TestLogEncoder.fakeDigest(1)
    let catDigest = TestLogEncoder.fakeDigest(2)
    let libDigest = TestLogEncoder.fakeDigest(3)
    let toolDigest = TestLogEncoder.fakeDigest(4)

    init() {
        reference = Reference(trustStore: TrustStore([SharedKeys.ima.certificate]))
        reference.add(Self.manifest(entries: [("/usr/lib/libfoo.so", libDigest), ("/usr/sbin/tool", toolDigest)]))
        boot()
    }

    /// The boot's first entries: boot_aggregate, kernel_version, the IMA
    /// certificate loaded into .ima, then signed and manifest-listed files.
    func boot() {
        append([.bootAggregate(tpm.bootAggregate()),
                .imaBuf("kernel_version", buffer: Array(kernelRelease.utf8)),
                .imaBuf(".ima", buffer: SharedKeys.ima.certificate.der),
                signed("/usr/bin/ls", lsDigest),
                signed("/usr/bin/cat", catDigest),
                .imaNG("/usr/lib/libfoo.so", digest: libDigest)])
    }

    func signed(_ path: String, _ digest: [UInt8], by key: PrivateKey = SharedKeys.ima.key,
                certificate: Certificate = SharedKeys.ima.certificate) -> TestLogEntry {
        let signature = IMASignature(hashAlgorithm: .sha256, keyID: certificate.imaKeyID,
                                     signature: try! key.sign(digest: digest, algorithm: .sha256))
        return .imaSig(path, digest: digest, signature: signature.encoded())
    }

    /// Measures entries: appended to the log and extended into the PCRs.
    func append(_ new: [TestLogEntry]) {
        entries += new
        tpm.measure(new)
    }

    /// Entries logged after the quote: in the log, not yet in the PCR.
    func appendUnextended(_ new: [TestLogEntry]) { entries += new }

    var logBytes: [UInt8] { TestLogEncoder.log(entries) }

    func byteOffset(ofEntry index: Int) -> Int { TestLogEncoder.log(Array(entries.prefix(index))).count }

    /// Evidence for a nonce: a fresh quote over the current PCRs and the log (from `fromEntry`).
    func evidence(nonce: [UInt8], fromEntry: Int = 0, log: [UInt8]? = nil, quoteKey: PrivateKey? = nil) -> Evidence {
        let tpmForQuote = quoteKey.map { key -> SoftwareTPM in
            let other = SoftwareTPM(akKey: key)
            other.pcrs = tpm.pcrs
            other.clock = tpm.clock
            other.resetCount = tpm.resetCount
            other.restartCount = tpm.restartCount
            return other
        } ?? tpm
        let (quote, pcrs) = tpmForQuote.quote(nonce: nonce)
        let offset = byteOffset(ofEntry: fromEntry)
        let data = log ?? Array(logBytes[offset...])
        return Evidence(created: "2026-11-26T23:00:00Z", nonce: nonce,
                        node: .init(kernelRelease: kernelRelease, bootID: bootID, hostname: "node-1"),
                        quote: quote, pcrs: pcrs, attestationKey: .init(publicArea: tpmForQuote.akPublic),
                        log: .init(data: data, start: LogPosition(entryIndex: fromEntry, byteOffset: offset)))
    }

    func expectations(nonce: [UInt8]) -> AttestationExpectations {
        AttestationExpectations(nonce: nonce, attestationKey: .publicArea(tpm.akPublic))
    }

    static func manifest(entries: [(String, [UInt8])]) -> Manifest {
        let header = Manifest.Header(buildID: "test", created: "2026-11-26T23:00:00Z", tool: "signet test",
                                     hashAlgorithm: .sha256, signer: .init(certificate: SharedKeys.ima.certificate),
                                     detached: true)
        return Manifest(header: header, entries: entries.map { path, digest in
            Manifest.Entry(path: FilePath(path), size: 1, mode: 0o100755, uid: 0, gid: 0, digestAlgorithm: .sha256,
                           digest: digest, keyID: SharedKeys.ima.certificate.imaKeyID,
                           signer: "sha256:" + Hex.encode(SharedKeys.ima.certificate.fingerprintSHA256), imaXattr: [])
        })
    }
}

func newNonce() -> [UInt8] { (0..<20).map { _ in UInt8.random(in: 0...255) } }

/// Asserts a failing verdict with `code` among its reasons.
func XCTAssertFails(_ verdict: Verdict, _ code: VerdictCode, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(verdict.passed, "expected a failure \(code.rawValue):\n\(verdict.textReport())", file: file, line: line)
    XCTAssertTrue(verdict.codes.contains(code), "expected \(code.rawValue):\n\(verdict.textReport())", file: file, line: line)
}

/// Asserts a passing verdict, printing the report otherwise.
func XCTAssertPasses(_ verdict: Verdict, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(verdict.passed, verdict.textReport(), file: file, line: line)
}
