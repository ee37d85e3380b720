import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport
@testable import TPM
@testable import TPMDevice

/// Each way a quote can be wrong ends in its own typed verdict.
final class QuoteVerifierTests: SwtpmTestCase {
    func testTamperedQuotesAreRejected() throws {
        try extendSHA256(10, "ima")
        let nonce = nonce()
        let (ak, other, eccAK, ek, quote) = try withTPM { tpm in
            let ak = try tpm.createAttestationKey(.rsa2048)
            return (ak, try tpm.createAttestationKey(.rsa2048), try tpm.createAttestationKey(.eccP256),
                    try tpm.endorsementKey(.rsa2048), try tpm.quote(with: ak, nonce: nonce))
        }
        func verify(attest: [UInt8]? = nil, signature: [UInt8]? = nil, ak key: TPMPublic? = nil,
                    nonce n: [UInt8]? = nil, pcrs: [PCRValue]? = nil) throws -> VerifiedQuote {
            try QuoteVerifier.verify(attest: attest ?? quote.attest, signature: signature ?? quote.signature,
                                     ak: key ?? ak.publicArea, nonce: n ?? nonce, pcrs: pcrs ?? quote.pcrs)
        }
        XCTAssertNoThrow(try verify())

        assertRejected(.nonceMismatch) { try verify(nonce: self.nonce()) }
        assertRejected(.nonceMismatch) { try verify(nonce: Array(nonce.dropLast())) }
        // Any flipped byte breaks the signature, including the magic and the nonce.
        for i in [0, 5, 20, 44, quote.attest.count / 2, quote.attest.count - 1] {
            var attest = quote.attest
            attest[i] ^= 0x01
            assertRejected(.signatureInvalid) { try verify(attest: attest) }
        }
        var signature = quote.signature
        signature[signature.count - 1] ^= 0x80
        assertRejected(.signatureInvalid) { try verify(signature: signature) }
        assertRejected(.malformedSignature) { try verify(signature: Array(quote.signature.dropLast())) }
        // The signature's hash field says SHA-1: not what this AK signs with.
        signature = quote.signature
        signature[3] = 0x04
        assertRejected(.signatureAlgorithmMismatch) { try verify(signature: signature) }
        assertRejected(.signatureInvalid) {
            try QuoteVerifier.verify(attest: quote.attest, signature: signature, akKey: try ak.publicKey(), nonce: nonce, pcrs: quote.pcrs)
        }

        // PCR values that are not the quoted ones.
        var pcrs = quote.pcrs
        pcrs[10] = PCRValue(bank: .sha256, index: 10, digest: [UInt8](repeating: 0xaa, count: 32))
        assertRejected(.pcrDigestMismatch) { try verify(pcrs: pcrs) }
        // Values are matched by bank and index, not by position: order does not matter, swapped values do.
        XCTAssertNoThrow(try verify(pcrs: Array(quote.pcrs.reversed())))
        pcrs = quote.pcrs
        pcrs[0] = PCRValue(bank: .sha256, index: 0, digest: quote.pcrs[10].digest)
        pcrs[10] = PCRValue(bank: .sha256, index: 10, digest: quote.pcrs[0].digest)
        assertRejected(.pcrDigestMismatch) { try verify(pcrs: pcrs) }
        assertRejected(.missingPCRValue) { try verify(pcrs: Array(quote.pcrs.dropLast())) }
        pcrs = quote.pcrs
        pcrs[3] = PCRValue(bank: .sha256, index: 3, digest: [0])
        assertRejected(.missingPCRValue) { try verify(pcrs: pcrs) }
        // Extra values for other PCRs are ignored; the verdict lists the quoted ones.
        let extra = [PCRValue(bank: .sha1, index: 10, digest: [UInt8](repeating: 0, count: 20))] + quote.pcrs
        XCTAssertEqual(try verify(pcrs: extra).pcrs, quote.pcrs)

        // A quote that leaves out a PCR the verifier requires.
        assertRejected(.pcrSelectionIncomplete) {
            try QuoteVerifier.verify(attest: quote.attest, signature: quote.signature, ak: ak.publicArea, nonce: nonce,
                                     pcrs: quote.pcrs, requiredSelection: try PCRSelection(parsing: "sha256:10-11"))
        }
        XCTAssertNoThrow(try QuoteVerifier.verify(attest: quote.attest, signature: quote.signature, ak: ak.publicArea, nonce: nonce,
                                                  pcrs: quote.pcrs, requiredSelection: try PCRSelection(parsing: "sha256:10")))

        // The wrong key.
        assertRejected(.signatureInvalid) { try verify(ak: other.publicArea) }
        assertRejected(.signatureAlgorithmMismatch) { try verify(ak: eccAK.publicArea) }
        assertRejected(.signatureInvalid) {
            try QuoteVerifier.verify(attest: quote.attest, signature: quote.signature, akKey: try ek.publicKey(), nonce: nonce, pcrs: quote.pcrs)
        }
        // An EK (decrypt, not sign) cannot be an AK.
        assertRejected(.akAttributesInvalid) { try verify(ak: ek.publicArea) }
        // A template has no key.
        assertRejected(.akUnusable) { try verify(ak: TPMTemplates.attestationKey(.rsa2048)) }
    }

    func testQuoteArguments() throws {
        try withTPM { tpm in
            let ak = try tpm.createAttestationKey(.eccP256)
            for bad in [[UInt8](), [UInt8](repeating: 1, count: 65)] {
                XCTAssertThrowsError(try tpm.quote(with: ak, nonce: bad)) { XCTAssertEqual(($0 as? TPMError)?.code, .invalidArgument) }
            }
            XCTAssertThrowsError(try tpm.quote(with: ak, nonce: [1], selection: PCRSelection([]))) {
                XCTAssertEqual(($0 as? TPMError)?.code, .invalidArgument)
            }
            // 64-byte nonce and PCRs above 23 are fine when asked for.
            let q = try tpm.quote(with: ak, nonce: [UInt8](repeating: 7, count: 64), selection: PCRSelection(.sha256, [0, 23]))
            XCTAssertNoThrow(try QuoteVerifier.verify(attest: q.attest, signature: q.signature, ak: ak.publicArea,
                                                      nonce: q.nonce, pcrs: q.pcrs))
        }
    }
}
