import TPM
import CTSS2

extension TPMContext {
    /// Reads a whole NV index, or returns nil when it is not defined. Reads
    /// in chunks of TPM_PT_NV_BUFFER_MAX, authorizing with the index itself
    /// (empty auth) when it allows AUTHREAD, else with the owner hierarchy.
    public func readNV(index: UInt32) throws(TPMError) -> [UInt8]? {
        var nvHandle = ESYS_TR(ESYS_TR_NONE)
        let rc = Esys_TR_FromTPMPublic(esys, index, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), &nvHandle)
        if rc != 0 {
            let error = TPMError.tss(rc, "Esys_TR_FromTPMPublic(0x\(hex(index, width: 8)))")
            if error.isHandleError { return nil }
            throw error
        }
        defer { _ = Esys_TR_Close(esys, &nvHandle) }

        var nvPublic: UnsafeMutablePointer<TPM2B_NV_PUBLIC>?
        var nvName: UnsafeMutablePointer<TPM2B_NAME>?
        let prc = Esys_NV_ReadPublic(esys, nvHandle, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                                     &nvPublic, &nvName)
        defer { Esys_Free(nvPublic); Esys_Free(nvName) }
        try check(prc, "Esys_NV_ReadPublic(0x\(hex(index, width: 8)))")
        guard let nvPublic else {
            throw TPMError(.unexpectedResponse, operation: "Esys_NV_ReadPublic", "no public area returned")
        }
        let size = Int(nvPublic.pointee.nvPublic.dataSize)
        let attributes = nvPublic.pointee.nvPublic.attributes
        let authHandle = attributes & TPMA_NV_AUTHREAD != 0 ? nvHandle : ESYS_TR(ESYS_TR_RH_OWNER)
        let chunk = max(64, try nvBufferMax())

        var out = [UInt8]()
        out.reserveCapacity(size)
        while out.count < size {
            let n = min(chunk, size - out.count)
            var data: UnsafeMutablePointer<TPM2B_MAX_NV_BUFFER>?
            let rrc = Esys_NV_Read(esys, authHandle, nvHandle, ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE),
                                   ESYS_TR(ESYS_TR_NONE), UInt16(n), UInt16(out.count), &data)
            defer { Esys_Free(data) }
            try check(rrc, "Esys_NV_Read(0x\(hex(index, width: 8)), offset \(out.count))")
            let bytes = try TSSMarshaling.marshal(data, Tss2_MU_TPM2B_MAX_NV_BUFFER_Marshal, "TPM2B_MAX_NV_BUFFER")
            let got = bytes.dropFirst(2)
            guard !got.isEmpty, got.count <= n else {
                throw TPMError(.unexpectedResponse, operation: "Esys_NV_Read", "\(got.count) byte(s) for a read of \(n)")
            }
            out += got
        }
        return out
    }

    /// TPM_PT_NV_BUFFER_MAX = TPM_PT_FIXED (0x100) + 44; the importer drops the macro.
    static let ptNVBufferMax: UInt32 = 0x0000_012C

    /// TPM_PT_NV_BUFFER_MAX: the most one NV read returns (512 when the TPM does not say).
    func nvBufferMax() throws(TPMError) -> Int {
        var more: TPMI_YES_NO = 0
        var data: UnsafeMutablePointer<TPMS_CAPABILITY_DATA>?
        let rc = Esys_GetCapability(esys, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                                    TPM2_CAP(TPM2_CAP_TPM_PROPERTIES), Self.ptNVBufferMax, 1, &more, &data)
        defer { Esys_Free(data) }
        try check(rc, "Esys_GetCapability(TPM_PT_NV_BUFFER_MAX)")
        guard let data, data.pointee.data.tpmProperties.count >= 1,
              data.pointee.data.tpmProperties.tpmProperty.0.property == Self.ptNVBufferMax else { return 512 }
        return Int(data.pointee.data.tpmProperties.tpmProperty.0.value)
    }
}
