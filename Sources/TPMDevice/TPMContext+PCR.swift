import TPM
import CTSS2

extension TPMContext {
    /// Reads the PCRs of `selection` (default `sha256:0-10`) and returns their
    /// values in selection order. TPM2_PCR_Read returns at most 8 values per
    /// call; this repeats until every PCR is read, and fails if the TPM
    /// returns none for what is left (a bank it does not have active).
    public func readPCRs(_ selection: PCRSelection = .default) throws(TPMError) -> [PCRValue] {
        guard !selection.isEmpty else {
            throw TPMError(.invalidArgument, operation: "PCR read", "the PCR selection is empty")
        }
        var values = [String: [UInt8]]()
        var remaining = selection
        while !remaining.isEmpty {
            var request = try TSSMarshaling.unmarshal(remaining.marshaled, TPML_PCR_SELECTION(),
                                                      Tss2_MU_TPML_PCR_SELECTION_Unmarshal, "TPML_PCR_SELECTION")
            var updateCounter: UInt32 = 0
            var selectionOut: UnsafeMutablePointer<TPML_PCR_SELECTION>?
            var digests: UnsafeMutablePointer<TPML_DIGEST>?
            let rc = Esys_PCR_Read(esys, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                                   &request, &updateCounter, &selectionOut, &digests)
            defer { Esys_Free(selectionOut); Esys_Free(digests) }
            try check(rc, "Esys_PCR_Read(\(remaining))")
            let returned: PCRSelection
            let digestList: [[UInt8]]
            do {
                returned = try PCRSelection(
                    marshaled: try TSSMarshaling.marshal(selectionOut, Tss2_MU_TPML_PCR_SELECTION_Marshal, "TPML_PCR_SELECTION"),
                    allowPCRsAbove23: true)
                digestList = try TPMLDigest.parse(try TSSMarshaling.marshal(digests, Tss2_MU_TPML_DIGEST_Marshal, "TPML_DIGEST"))
            } catch let error as TPMStructureError {
                throw TPMError(.unexpectedResponse, operation: "Esys_PCR_Read", "\(error)")
            } catch let error as TPMError {
                throw error
            } catch {
                throw TPMError(.unexpectedResponse, operation: "Esys_PCR_Read", "\(error)")
            }
            let got = returned.selected
            guard !got.isEmpty else {
                throw TPMError(.unexpectedResponse, operation: "Esys_PCR_Read",
                               "the TPM returned no value for \(remaining) (is that PCR bank active?)")
            }
            guard got.count == digestList.count else {
                throw TPMError(.unexpectedResponse, operation: "Esys_PCR_Read",
                               "\(digestList.count) value(s) for \(got.count) PCR(s) in \(returned)")
            }
            for (pcr, digest) in zip(got, digestList) {
                guard digest.count == pcr.bank.digestLength else {
                    throw TPMError(.unexpectedResponse, operation: "Esys_PCR_Read",
                                   "\(pcr.bank):\(pcr.index) has \(digest.count) byte(s)")
                }
                values["\(pcr.bank.rawValue):\(pcr.index)"] = digest
            }
            let next = remaining.subtracting(returned)
            guard next.count < remaining.count else {
                throw TPMError(.unexpectedResponse, operation: "Esys_PCR_Read", "the TPM returned PCRs that were not asked for")
            }
            remaining = next
        }
        return selection.selected.map { PCRValue(bank: $0.bank, index: $0.index, digest: values["\($0.bank.rawValue):\($0.index)"]!) }
    }

}
