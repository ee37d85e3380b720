import TPM
import CTSS2
#if canImport(Glibc)
import Glibc
#endif

/// A connection to a TPM 2.0 through tpm2-tss ESAPI. Opened from a TCTI
/// configuration string, closed (ESAPI finalized, TCTI unloaded) when the
/// last reference goes away.
///
/// TCTI strings are those of `Tss2_TctiLdr_Initialize` and tpm2-tools `-T`:
/// `device:/dev/tpmrm0` (the kernel resource manager), `swtpm:host=127.0.0.1,port=2321`,
/// `mssim:host=localhost,port=2321`. A direct simulator has no resource
/// manager: every operation here flushes the transient objects it created,
/// and the TPM cannot be shared while this context is open (close it before
/// running tpm2-tools against the same simulator).
///
/// Not thread-safe: use one context from one thread or task at a time.
public final class TPMContext {
    /// The environment variable naming the TCTI when none is given.
    public static let environmentVariable = "SIGNET_TCTI"
    /// The TCTI used when neither an argument nor SIGNET_TCTI names one.
    public static let defaultTCTI = "device:/dev/tpmrm0"

    /// The TCTI configuration this context was opened with.
    public let tcti: String
    private var tctiContext: OpaquePointer?
    private var esysContext: OpaquePointer?

    /// Opens the TPM at `tcti`, else at `$SIGNET_TCTI`, else at `device:/dev/tpmrm0`.
    public init(tcti: String? = nil) throws(TPMError) {
        let config = tcti ?? Self.environmentTCTI ?? Self.defaultTCTI
        self.tcti = config
        var loaded: OpaquePointer?
        let rc = Tss2_TctiLdr_Initialize(config, &loaded)
        guard rc == 0, let loaded else {
            throw TPMError(.tctiUnavailable, operation: "Tss2_TctiLdr_Initialize(\"\(config)\")", responseCode: rc,
                           (Tss2_RC_Decode(rc).map { String(cString: $0) } ?? "failed")
                           + " (is the TPM device present or the simulator running? is libtss2-tcti-\(config.split(separator: ":").first ?? "") installed?)")
        }
        var esys: OpaquePointer?
        let erc = Esys_Initialize(&esys, loaded, nil)
        guard erc == 0, let esys else {
            var unload: OpaquePointer? = loaded
            Tss2_TctiLdr_Finalize(&unload)
            throw TPMError.tss(erc, "Esys_Initialize(\"\(config)\")", code: .tctiUnavailable)
        }
        tctiContext = loaded
        esysContext = esys
    }

    deinit {
        Esys_Finalize(&esysContext)
        Tss2_TctiLdr_Finalize(&tctiContext)
    }

    private static var environmentTCTI: String? {
        guard let v = getenv(environmentVariable) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }

    /// The ESAPI context, for the operations in the extensions of this class.
    var esys: OpaquePointer { esysContext! }

    // MARK: - Transient objects

    /// Runs `body` with a transient object handle and flushes the object afterwards, whatever happens.
    func withTransient<T>(_ handle: ESYS_TR, _ body: (ESYS_TR) throws(TPMError) -> T) throws(TPMError) -> T {
        defer { _ = Esys_FlushContext(esys, handle) }
        return try body(handle)
    }

    /// Creates a primary key from `template` in `hierarchy` (ESYS_TR_RH_OWNER,
    /// ESYS_TR_RH_ENDORSEMENT), with empty hierarchy and key auth, runs `body`
    /// with its handle and public area, then flushes it.
    func withPrimary<T>(_ hierarchy: ESYS_TR, _ template: TPMPublic,
                        _ body: (ESYS_TR, TPMPublic) throws(TPMError) -> T) throws(TPMError) -> T {
        var inPublic = try TSSMarshaling.unmarshal(template.tpm2bMarshaled, TPM2B_PUBLIC(), Tss2_MU_TPM2B_PUBLIC_Unmarshal,
                                                   "TPM2B_PUBLIC template")
        var inSensitive = TPM2B_SENSITIVE_CREATE()
        var outsideInfo = TPM2B_DATA()
        var creationPCR = TPML_PCR_SELECTION()
        var handle: ESYS_TR = ESYS_TR(ESYS_TR_NONE)
        var outPublic: UnsafeMutablePointer<TPM2B_PUBLIC>?
        var creationData: UnsafeMutablePointer<TPM2B_CREATION_DATA>?
        var creationHash: UnsafeMutablePointer<TPM2B_DIGEST>?
        var creationTicket: UnsafeMutablePointer<TPMT_TK_CREATION>?
        let rc = Esys_CreatePrimary(esys, hierarchy, ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                                    &inSensitive, &inPublic, &outsideInfo, &creationPCR,
                                    &handle, &outPublic, &creationData, &creationHash, &creationTicket)
        defer {
            Esys_Free(outPublic); Esys_Free(creationData); Esys_Free(creationHash); Esys_Free(creationTicket)
        }
        try check(rc, "Esys_CreatePrimary")
        return try withTransient(handle) { (handle) throws(TPMError) in
            let publicBytes = try TSSMarshaling.marshal(outPublic, Tss2_MU_TPM2B_PUBLIC_Marshal, "TPM2B_PUBLIC")
            let publicArea: TPMPublic
            do {
                publicArea = try TPMPublic(tpm2bPublic: publicBytes)
            } catch {
                throw TPMError(.unexpectedResponse, operation: "Esys_CreatePrimary", "the TPM's public area: \(error)")
            }
            return try body(handle, publicArea)
        }
    }
}
