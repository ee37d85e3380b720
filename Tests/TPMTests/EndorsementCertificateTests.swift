import Foundation
import XCTest
import SignetCrypto
import SignetTestSupport
@testable import TPM
@testable import TPMDevice

/// EK certificates in NV, as swtpm_setup provisions them (like a TPM vendor does).
final class EndorsementCertificateTests: SwtpmTestCase {
    override func prepareState(_ stateDir: String) throws {
        guard let setup = which("swtpm_setup") else { throw XCTSkip("swtpm_setup is not installed") }
        let r = try runProgram(setup, ["--tpm2", "--tpmstate", stateDir, "--create-ek-cert", "--overwrite"])
        guard r.status == 0 else { throw XCTSkip("swtpm_setup cannot create EK certificates here: \(r.output)") }
    }

    func testRSAEKCertificateMatchesTheEK() throws {
        let (ek, ecc) = try withTPM { tpm in (try tpm.endorsementKey(.rsa2048), try tpm.endorsementKey(.eccP256)) }
        let der = try XCTUnwrap(ek.certificate, "swtpm_setup wrote a certificate to 0x01c00002")
        let certificate = try Certificate.parseAll(der, source: "NV 0x01c00002")[0]
        XCTAssertEqual(certificate.der, der, "NV padding trimmed to the DER")
        XCTAssertTrue(certificate.publicKey.isSameKey(as: try ek.publicKey()), "the certificate is for the TCG default RSA EK")
        // swtpm_setup certifies an ECC P-384 EK (0x01c00016), not P-256.
        XCTAssertNil(ecc.certificate)
        // The same bytes as tpm2_nvread.
        try swtpm.tool("tpm2_nvread", ["0x01c00002", "-C", "o", "-o", dir.url("ekcert.bin")])
        XCTAssertEqual(TPMContext.trimDER(try read("ekcert.bin")), der)
    }
}
