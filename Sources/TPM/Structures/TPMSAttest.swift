/// A TPM-signed attestation structure, TPMS_ATTEST (TPM 2.0 Part 2, 10.12.12),
/// of type quote: what TPM2_Quote signs. Parsing checks the magic
/// (TPM_GENERATED_VALUE), the type (TPM_ST_ATTEST_QUOTE), every size, and
/// that nothing follows; the original bytes are kept in `marshaled` for
/// signature checks.
///
/// The fields are only trustworthy once the signature over `marshaled` has
/// been verified with a known attestation key (see `QuoteVerifier`).
public struct TPMSAttest: Equatable, Sendable {
    /// TPM_GENERATED_VALUE: the TPM puts it in everything it signs and refuses
    /// to sign outside data that starts with it.
    public static let generatedValue: UInt32 = 0xff54_4347
    /// TPM_ST_ATTEST_QUOTE.
    public static let quoteType: UInt16 = 0x8018
    /// sizeof(TPMU_NAME): the largest TPM2B_NAME.
    static let maxNameSize = 68
    /// sizeof(TPMT_HA): the largest TPM2B_DATA.
    static let maxDataSize = 66
    /// The largest TPM2B_DIGEST (SHA-512).
    package static let maxDigestSize = 64

    /// TPMS_CLOCK_INFO: the TPM's clock and how often it reset or restarted.
    public struct ClockInfo: Equatable, Sendable {
        /// Milliseconds the TPM has been powered, kept across power cycles.
        public let clock: UInt64
        /// TPM resets (reboots) since manufacture or TPM2_Clear.
        public let resetCount: UInt32
        /// TPM restarts/resumes since the last reset.
        public let restartCount: UInt32
        /// False when the clock may have gone backwards (not saved at last power-down).
        public let safe: Bool

        public init(clock: UInt64, resetCount: UInt32, restartCount: UInt32, safe: Bool) {
            self.clock = clock
            self.resetCount = resetCount
            self.restartCount = restartCount
            self.safe = safe
        }
    }

    /// The signer's qualified name (TPM2B_NAME).
    public let qualifiedSigner: [UInt8]
    /// The caller's qualifying data: the verifier's nonce (TPM2B_DATA).
    public let extraData: [UInt8]
    public let clockInfo: ClockInfo
    /// Vendor-specific firmware version.
    public let firmwareVersion: UInt64
    /// TPMS_QUOTE_INFO.pcrSelect: the PCRs quoted.
    public let pcrSelection: PCRSelection
    /// TPMS_QUOTE_INFO.pcrDigest: H(selected PCR values concatenated in selection order).
    public let pcrDigest: [UInt8]
    /// The bytes as signed.
    public let marshaled: [UInt8]

    /// Parses a marshaled TPMS_ATTEST (the buffer of TPM2B_ATTEST, what
    /// `tpm2_quote -m` writes). PCRs above 23 are refused unless allowed.
    public init(marshaled bytes: [UInt8], allowPCRsAbove23: Bool = false) throws(TPMStructureError) {
        var r = TPMReader(bytes)
        let magicAt = r.offset
        let magic = try r.u32("TPMS_ATTEST.magic")
        guard magic == Self.generatedValue else { throw .badMagic(magic, offset: magicAt) }
        let typeAt = r.offset
        let type = try r.u16("TPMS_ATTEST.type")
        guard type == Self.quoteType else {
            throw .unexpectedType("TPMS_ATTEST.type", offset: typeAt, expected: "TPM_ST_ATTEST_QUOTE 0x8018", found: type)
        }
        qualifiedSigner = try r.sized("TPMS_ATTEST.qualifiedSigner", max: Self.maxNameSize)
        extraData = try r.sized("TPMS_ATTEST.extraData", max: Self.maxDataSize)
        let clock = try r.u64("TPMS_ATTEST.clockInfo.clock")
        let resetCount = try r.u32("TPMS_ATTEST.clockInfo.resetCount")
        let restartCount = try r.u32("TPMS_ATTEST.clockInfo.restartCount")
        let safeAt = r.offset
        let safe = try r.u8("TPMS_ATTEST.clockInfo.safe")
        guard safe <= 1 else {
            throw .invalidValue("TPMS_ATTEST.clockInfo.safe", offset: safeAt, "expected TPMI_YES_NO 0 or 1, found \(safe)")
        }
        clockInfo = ClockInfo(clock: clock, resetCount: resetCount, restartCount: restartCount, safe: safe == 1)
        firmwareVersion = try r.u64("TPMS_ATTEST.firmwareVersion")
        pcrSelection = try PCRSelection.read(&r, field: "TPMS_QUOTE_INFO.pcrSelect", allowPCRsAbove23: allowPCRsAbove23)
        pcrDigest = try r.sized("TPMS_QUOTE_INFO.pcrDigest", max: Self.maxDigestSize)
        try r.finish("TPMS_ATTEST")
        marshaled = bytes
    }

    /// Builds a quote structure (for tests and tools); `marshaled` is its encoding.
    public init(qualifiedSigner: [UInt8], extraData: [UInt8], clockInfo: ClockInfo, firmwareVersion: UInt64,
                pcrSelection: PCRSelection, pcrDigest: [UInt8]) {
        precondition(qualifiedSigner.count <= Self.maxNameSize && extraData.count <= Self.maxDataSize
                     && pcrDigest.count <= Self.maxDigestSize, "TPMS_ATTEST field too large")
        self.qualifiedSigner = qualifiedSigner
        self.extraData = extraData
        self.clockInfo = clockInfo
        self.firmwareVersion = firmwareVersion
        self.pcrSelection = pcrSelection
        self.pcrDigest = pcrDigest
        var w = TPMWriter()
        w.u32(Self.generatedValue)
        w.u16(Self.quoteType)
        w.sized(qualifiedSigner)
        w.sized(extraData)
        w.u64(clockInfo.clock)
        w.u32(clockInfo.resetCount)
        w.u32(clockInfo.restartCount)
        w.u8(clockInfo.safe ? 1 : 0)
        w.u64(firmwareVersion)
        pcrSelection.write(&w)
        w.sized(pcrDigest)
        marshaled = w.bytes
    }
}
