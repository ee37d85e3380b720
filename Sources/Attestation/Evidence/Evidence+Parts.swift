import IMAFormat
import SignetCrypto
import TPM

extension Evidence {
    /// Who the node says it is. Not covered by the quote: the kernel release
    /// is checked against the log's `kernel_version` measurement when the
    /// policy measures it; the boot id is kept in the state for operators.
    public struct NodeIdentity: Sendable, Equatable {
        /// `uname -r`.
        public var kernelRelease: String
        /// `/proc/sys/kernel/random/boot_id`: changes at every boot.
        public var bootID: String
        public var hostname: String?

        public init(kernelRelease: String, bootID: String, hostname: String? = nil) {
            self.kernelRelease = kernelRelease
            self.bootID = bootID
            self.hostname = hostname
        }
    }

    /// The quote as the TPM produced it.
    public struct Quote: Sendable, Equatable {
        /// TPMS_ATTEST, the bytes the TPM signed.
        public var attest: [UInt8]
        /// TPMT_SIGNATURE over H(attest).
        public var signature: [UInt8]

        public init(attest: [UInt8], signature: [UInt8]) {
            self.attest = attest
            self.signature = signature
        }
    }

    /// The attestation key as the agent names it. The verifier never trusts
    /// it for the signature check (anyone can make a key): it checks the
    /// quote with the AK it enrolled, and reports when the evidence names
    /// another one.
    public struct AttestationKey: Sendable, Equatable {
        /// The AK's public area, parsed from `tpm2b_public`.
        public var publicArea: TPMPublic?
        /// The AK as a PEM `PUBLIC KEY` block.
        public var pem: String?

        public init(publicArea: TPMPublic? = nil, pem: String? = nil) {
            self.publicArea = publicArea
            self.pem = pem
        }

        /// The key, from the public area when present, else from the PEM.
        public func publicKey() throws -> PublicKey {
            if let publicArea { return try publicArea.publicKey() }
            if let pem { return try PublicKey.decode(pem: Array(pem.utf8), source: "evidence ak.pem") }
            throw EvidenceError.missing("ak")
        }
    }

    /// The binary IMA log, or the part of it from `start` on.
    public struct Log: Sendable, Equatable {
        /// The log bytes from `start.byteOffset` on.
        public var data: [UInt8]
        /// Index and byte offset of the first entry in `data` within the full log.
        public var start: LogPosition
        /// Algorithm of the stored template digests (SHA-1 in the classic file).
        public var templateDigestAlgorithm: HashAlgorithm
        /// Byte order of the log's integers.
        public var byteOrder: LogByteOrder

        public init(data: [UInt8], start: LogPosition = .start, templateDigestAlgorithm: HashAlgorithm = .sha1,
                    byteOrder: LogByteOrder = .littleEndian) {
            self.data = data
            self.start = start
            self.templateDigestAlgorithm = templateDigestAlgorithm
            self.byteOrder = byteOrder
        }

        /// The parser options for this log.
        public var options: MeasurementLogOptions {
            MeasurementLogOptions(byteOrder: byteOrder, templateDigestAlgorithm: templateDigestAlgorithm)
        }
    }
}
