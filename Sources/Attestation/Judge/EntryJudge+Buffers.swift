import IMAFormat
import SignetCrypto

extension EntryJudge {
    /// The event name of the kernel's own release measurement: `ima_init`
    /// measures `UTS_RELEASE` as critical data labelled `kernel_info`
    /// (security/integrity/ima/ima_init.c).
    public static let kernelVersionEventName = "kernel_version"

    /// Judges an `ima-buf` measurement: a key added to a keyring
    /// (KEY_CHECK: name = keyring, buffer = the certificate), the kernel's
    /// release, or another named buffer.
    func judgeBuffer(_ entry: MeasurementEntry, name: [UInt8], context: JudgeContext) -> EntryJudgement {
        let nameText = String(decoding: name, as: UTF8.self)
        let buffer = entry.field(.buffer).map { Array(entry.bytes(of: $0)) } ?? []
        // `judge` refused an entry whose digest has a problem: this one is
        // comparable (algorithm and length), or absent.
        let digest = entry.eventDigest?.algorithmDigest
        if let digest, !buffer.isEmpty, Digester.hash(buffer, digest.algorithm) != digest.bytes {
            let algorithm = digest.algorithm
            return reject(entry, .bufferDigestInconsistent,
                          "the recorded digest \(digest) is not the \(algorithm) hash of the \(buffer.count)-byte buffer")
        }

        if nameText == Self.kernelVersionEventName {
            return judgeKernelVersion(entry, buffer: buffer, context: context)
        }
        let keyringLike = nameText.hasPrefix(".") || nameText.hasPrefix("_")
            || reference.keyrings.digests[nameText] != nil || reference.keyrings.allowed?.contains(nameText) == true
        if keyringLike || buffer.first == 0x30, let certificate = Self.certificate(in: buffer) {
            return judgeKey(entry, keyring: nameText, certificate: certificate, digest: digest)
        }
        if keyringLike {
            if reference.keyrings.ignores(nameText) { return .accepted(.ignoredKeyring) }
            if let digest, reference.keyrings.digests[nameText]?.contains(digest) == true {
                return .accepted(.trustedKey)
            }
            return reject(entry, .unknownKeyringKey,
                          "a key was added to keyring \(nameText), but its data is not an X.509 certificate and its digest is not listed")
        }
        if let known = reference.buffers[nameText] {
            guard let digest, known.contains(digest) else {
                return reject(entry, .bufferDigestMismatch,
                              "buffer \"\(nameText)\" measured as \(digest?.description ?? "no digest"), which is not a known value")
            }
            return .accepted(.knownBuffer)
        }
        if reference.isExcluded(name) { return .accepted(.excluded) }
        return reject(entry, .unknownBuffer,
                      "ima-buf measurement \"\(nameText)\" (\(buffer.count) bytes) is not in the reference")
    }

    private func judgeKey(_ entry: MeasurementEntry, keyring: String, certificate: Certificate,
                          digest: AlgorithmDigest?) -> EntryJudgement {
        if reference.keyrings.ignores(keyring) { return .accepted(.ignoredKeyring) }
        let who = "certificate \"\(certificate.subject)\" (keyid \(KeyID.hex(certificate.imaKeyID)), sha256:\(Hex.encode(certificate.fingerprintSHA256)))"
        if let allowed = reference.keyrings.allowed, !allowed.contains(keyring) {
            return reject(entry, .keyringNotAllowed,
                          "\(who) was added to keyring \(keyring), which is not one of \(allowed.sorted().joined(separator: ", "))")
        }
        if keyringCertificates.contains(certificate.fingerprintSHA256) { return .accepted(.trustedKey) }
        if let digest, reference.keyrings.digests[keyring]?.contains(digest) == true {
            return .accepted(.trustedKey)
        }
        return reject(entry, .unknownKeyringKey,
                      "\(who) was added to keyring \(keyring), but it is not a trusted certificate: the kernel will accept files it signs")
    }

    private func judgeKernelVersion(_ entry: MeasurementEntry, buffer: [UInt8], context: JudgeContext) -> EntryJudgement {
        let release = String(decoding: buffer, as: UTF8.self)
        if let claimed = context.kernelRelease, claimed != release {
            return reject(entry, .kernelReleaseMismatch,
                          "the kernel measured its release as \"\(release)\", but the evidence claims \"\(claimed)\"")
        }
        if !reference.kernelReleases.isEmpty && !reference.kernelReleases.contains(release) {
            return reject(entry, .kernelNotAllowed,
                          "kernel \"\(release)\" is not an allowed release (\(reference.kernelReleases.sorted().joined(separator: ", ")))")
        }
        if let known = reference.buffers[Self.kernelVersionEventName] {
            guard let digest = entry.eventDigest?.algorithmDigest, known.contains(digest) else {
                return reject(entry, .bufferDigestMismatch, "kernel_version \"\(release)\" does not have a known digest")
            }
        }
        return .accepted(.kernelVersion)
    }

    /// The X.509 certificate a key measurement carries, if its buffer is one (DER).
    static func certificate(in buffer: [UInt8]) -> Certificate? {
        guard buffer.first == 0x30, let certificates = try? Certificate.parseAll(buffer, source: "ima-buf"),
              certificates.count == 1 else { return nil }
        return certificates[0]
    }
}
