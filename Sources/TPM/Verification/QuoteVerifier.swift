import IMAFormat
import SignetCrypto

/// A quote that passed every check, with its parsed contents.
public struct VerifiedQuote: Sendable {
    /// The signed TPMS_ATTEST.
    public let attest: TPMSAttest
    public let signature: TPMSignature
    /// The PCR values the quote covers, in selection order: the supplied
    /// values that hash to the signed pcrDigest.
    public let pcrs: [PCRValue]
}

/// Checks a TPM 2.0 quote: that a proper attestation key signed it, over
/// TPM-generated data, for the verifier's nonce, and over the claimed PCR
/// values. Pure Swift and OpenSSL; no TPM is involved.
///
/// The checks, in order (each failure has its own `QuoteVerificationError.Code`):
/// 1. the AK is restricted|sign|fixedTPM|fixedParent (when its TPM2B_PUBLIC is given);
/// 2. the TPMT_SIGNATURE parses, is RSASSA or ECDSA with SHA-1/256/384/512, fits the AK;
/// 3. the signature verifies over H(TPMS_ATTEST bytes) with that hash;
/// 4. TPMS_ATTEST has the TPM_GENERATED magic and the quote type, and parses;
/// 5. extraData equals the nonce;
/// 6. the quote covers every PCR of `requiredSelection`, when given (a node must not
///    leave out a PCR the verifier asked for);
/// 7. pcrDigest equals H(the supplied values of the selected PCRs, in selection order),
///    H being the signature's hash (TPM2_Quote digests PCRs with the signing scheme's hash).
///
/// Nothing in TPMS_ATTEST is read before the signature is checked.
public enum QuoteVerifier {
    /// Verifies with the AK's public area (TPM2B_PUBLIC), checking its attributes and scheme.
    public static func verify(attest: [UInt8], signature: [UInt8], ak: TPMPublic, nonce: [UInt8],
                              pcrs: [PCRValue], requiredSelection: PCRSelection? = nil) throws(QuoteVerificationError) -> VerifiedQuote {
        guard ak.attributes.isSuperset(of: .attestationKeyRequired) else {
            let missing = TPMObjectAttributes.attestationKeyRequired.subtracting(ak.attributes)
            throw QuoteVerificationError(.akAttributesInvalid,
                                         "the AK is not a restricted signing key of this TPM: lacks \(missing) (has \(ak.attributes))")
        }
        let key: PublicKey
        do {
            key = try ak.publicKey()
        } catch {
            throw QuoteVerificationError(.akUnusable, "the AK's public area: \(error)", structureError: error)
        }
        return try verify(attest: attest, signature: signature, key: key, akScheme: ak.scheme, nonce: nonce, pcrs: pcrs,
                          requiredSelection: requiredSelection)
    }

    /// Verifies with the AK's public key alone (e.g. `ak.pem`). The AK's
    /// attributes cannot be checked this way: use it only for a key already
    /// known to be an AK (checked at enrollment).
    public static func verify(attest: [UInt8], signature: [UInt8], akKey: PublicKey, nonce: [UInt8],
                              pcrs: [PCRValue], requiredSelection: PCRSelection? = nil) throws(QuoteVerificationError) -> VerifiedQuote {
        try verify(attest: attest, signature: signature, key: akKey, akScheme: .null, nonce: nonce, pcrs: pcrs,
                   requiredSelection: requiredSelection)
    }

    private static func verify(attest: [UInt8], signature signatureBytes: [UInt8], key: PublicKey, akScheme: TPMScheme,
                               nonce: [UInt8], pcrs: [PCRValue],
                               requiredSelection: PCRSelection?) throws(QuoteVerificationError) -> VerifiedQuote {
        let signature: TPMSignature
        do {
            signature = try TPMSignature(marshaled: signatureBytes)
        } catch {
            throw QuoteVerificationError(.malformedSignature, "TPMT_SIGNATURE: \(error)", structureError: error)
        }
        guard let hash = signature.hash.hashAlgorithm else {
            throw QuoteVerificationError(.unsupportedSignatureScheme, "signature hash \(signature.hash) is not supported")
        }
        if akScheme.scheme != .null && (akScheme.scheme != signature.scheme || akScheme.hash != signature.hash) {
            throw QuoteVerificationError(.signatureAlgorithmMismatch,
                                         "signature is \(signature.scheme)-\(signature.hash), the AK signs with \(akScheme)")
        }
        let digest = Digester.hash(attest, hash)
        let valid: Bool
        switch (signature, key.algorithm) {
        case (.rsassa(_, let sig), .rsa?):
            valid = key.verify(signature: sig, digest: digest, algorithm: hash)
        case (.ecdsa(_, let r, let s), .ecdsa?):
            valid = key.verify(ecdsaR: r, s: s, digest: digest, algorithm: hash)
        case (.rsapss, _):
            throw QuoteVerificationError(.unsupportedSignatureScheme, "RSASSA-PSS quotes are not supported")
        default:
            throw QuoteVerificationError(.signatureAlgorithmMismatch,
                                         "a \(signature.scheme) signature cannot come from a \(key.algorithm.map { "\($0)" } ?? "unknown") key")
        }
        guard valid else {
            throw QuoteVerificationError(.signatureInvalid,
                                         "the \(signature.scheme)-\(signature.hash) signature does not verify over the quote with this AK")
        }

        let parsed: TPMSAttest
        do {
            parsed = try TPMSAttest(marshaled: attest)
        } catch let error where error.code == .badMagic {
            throw QuoteVerificationError(.notTPMGenerated, "\(error)", structureError: error)
        } catch let error where error.code == .unexpectedType {
            throw QuoteVerificationError(.notAQuote, "\(error)", structureError: error)
        } catch {
            throw QuoteVerificationError(.malformedAttest, "TPMS_ATTEST: \(error)", structureError: error)
        }
        guard parsed.extraData == nonce else {
            throw QuoteVerificationError(.nonceMismatch,
                                         "extraData is \(Hex.encode(parsed.extraData)), expected the nonce \(Hex.encode(nonce))")
        }
        if let requiredSelection {
            let quoted = Set(parsed.pcrSelection.selected.map { "\($0.bank):\($0.index)" })
            let missing = requiredSelection.selected.filter { !quoted.contains("\($0.bank):\($0.index)") }
            guard missing.isEmpty else {
                throw QuoteVerificationError(.pcrSelectionIncomplete,
                                             "the quote covers \(parsed.pcrSelection), not \(PCRSelection(missing.map { PCRSelection.Bank($0.bank, pcrs: [$0.index]) }))")
            }
        }
        let quoted = try quotedValues(parsed.pcrSelection, from: pcrs)
        let computed = pcrDigest(quoted, hash: hash)
        guard computed == parsed.pcrDigest else {
            throw QuoteVerificationError(.pcrDigestMismatch,
                                         "the PCR values hash to \(Hex.encode(computed)) but the TPM signed \(Hex.encode(parsed.pcrDigest)) for \(parsed.pcrSelection)")
        }
        return VerifiedQuote(attest: parsed, signature: signature, pcrs: quoted)
    }

    /// The supplied value of each PCR of `selection`, in selection order.
    static func quotedValues(_ selection: PCRSelection, from pcrs: [PCRValue]) throws(QuoteVerificationError) -> [PCRValue] {
        var out = [PCRValue]()
        for pcr in selection.selected {
            guard let value = pcrs.first(where: { $0.bank == pcr.bank && $0.index == pcr.index }) else {
                throw QuoteVerificationError(.missingPCRValue, "no value given for quoted PCR \(pcr.bank):\(pcr.index)")
            }
            guard value.digest.count == pcr.bank.digestLength else {
                throw QuoteVerificationError(.missingPCRValue,
                                             "the value given for \(pcr.bank):\(pcr.index) has \(value.digest.count) byte(s)")
            }
            out.append(value)
        }
        return out
    }

    /// H(values concatenated), the pcrDigest of a quote over them.
    public static func pcrDigest(_ values: [PCRValue], hash: HashAlgorithm) -> [UInt8] {
        let d = Digester(hash)
        for v in values { d.update(v.digest) }
        return d.finalize()
    }
}
