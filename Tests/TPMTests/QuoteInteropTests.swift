import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport
@testable import TPM
@testable import TPMDevice

/// Quotes checked both ways against tpm2-tools: ours accepted by
/// tpm2_checkquote, theirs accepted by QuoteVerifier.
final class QuoteInteropTests: SwtpmTestCase {
    func testOurQuotesVerifyInSwiftAndWithTpm2Checkquote() throws {
        let imaDigest = try extendSHA256(10, "boot_aggregate")
        let expected10 = Digester.hash([UInt8](repeating: 0, count: 32) + imaDigest, .sha256)
        for type in TPMKeyType.allCases {
            let nonce = nonce()
            let selection = type == .rsa2048 ? PCRSelection.default : try PCRSelection(parsing: "sha256:0,10+sha1:10")
            let (ak, quote) = try withTPM { tpm in
                let ak = try tpm.createAttestationKey(type)
                return (ak, try tpm.quote(with: ak, nonce: nonce, selection: selection))
            }
            let akDir = dir.url("ak-\(type.rawValue)")
            try ak.save(to: akDir)
            XCTAssertEqual(quote.pcrs.count, selection.count)
            XCTAssertEqual(quote.pcrs.first { $0.bank == .sha256 && $0.index == 10 }?.digest, expected10)

            // In Swift, with the AK's public area and with its PEM.
            let verified = try QuoteVerifier.verify(attest: quote.attest, signature: quote.signature, ak: ak.publicArea,
                                                    nonce: nonce, pcrs: quote.pcrs)
            XCTAssertEqual(verified.attest.extraData, nonce)
            XCTAssertEqual(verified.attest.pcrSelection, selection)
            XCTAssertEqual(verified.pcrs, quote.pcrs)
            XCTAssertEqual(verified.signature.scheme, type == .rsa2048 ? .rsassa : .ecdsa)
            let pem = try PublicKey.decode(pem: try FileBytes.read("\(akDir)/ak.pem"))
            XCTAssertNoThrow(try QuoteVerifier.verify(attest: quote.attest, signature: quote.signature, akKey: pem,
                                                      nonce: nonce, pcrs: quote.pcrs))

            // With tpm2_checkquote: -m TPMS_ATTEST, -s TPMT_SIGNATURE, -f the tpm2-tools PCR file.
            let msg = dir.write("quote-\(type.rawValue).msg", quote.attest)
            let sig = dir.write("quote-\(type.rawValue).sig", quote.signature)
            let pcrs = dir.write("quote-\(type.rawValue).pcrs", quote.tpm2ToolsPCRFile)
            for key in ["\(akDir)/ak.pem", "\(akDir)/ak.pub"] {
                try swtpm.tool("tpm2_checkquote", ["-u", key, "-m", msg, "-s", sig, "-f", pcrs, "-g", "sha256",
                                                   "-q", Hex.encode(nonce)])
            }
            // PCR values without selection, as tpm2_pcrread -o writes them, with -l (tpm2-tools 5.4
            // reads at most 8 values this way: "Failed to hash PCR values" beyond).
            if selection.count <= 8 {
            let values = dir.write("values-\(type.rawValue).bin", quote.pcrs.flatMap(\.digest))
            try swtpm.tool("tpm2_checkquote", ["-u", "\(akDir)/ak.pem", "-m", msg, "-s", sig, "-f", values,
                                               "-l", selection.tpm2ToolsArgument, "-g", "sha256", "-q", Hex.encode(nonce)])
            }
            // tpm2_checkquote does check: another nonce, or another PCR value, fails.
            let wrongNonce = try runProgram(which("tpm2_checkquote")!, ["-u", "\(akDir)/ak.pem", "-m", msg, "-s", sig,
                                                                      "-f", pcrs, "-g", "sha256", "-q", "00"])
            XCTAssertNotEqual(wrongNonce.status, 0)
            var tampered = quote.pcrs
            tampered[0] = PCRValue(bank: tampered[0].bank, index: tampered[0].index, digest: [UInt8](repeating: 1, count: 32))
            let badPCRs = dir.write("bad-\(type.rawValue).pcrs", TPM2ToolsPCRFile.encode(selection: selection, values: tampered))
            let wrongPCR = try runProgram(which("tpm2_checkquote")!, ["-u", "\(akDir)/ak.pem", "-m", msg, "-s", sig,
                                                                    "-f", badPCRs, "-g", "sha256", "-q", Hex.encode(nonce)])
            XCTAssertNotEqual(wrongPCR.status, 0)
        }
    }

    func testTpm2ToolsQuotesVerifyInSwift() throws {
        try extendSHA256(10, "measurement")
        let selection = try PCRSelection(parsing: "sha256:0-10+sha1:10")
        for (type, scheme) in [("rsa", "rsassa"), ("ecc", "ecdsa")] {
            let nonce = nonce(20)
            let d = dir.url(type)
            dir.mkdir(type)
            try swtpm.tool("tpm2_createek", ["-c", "ek.ctx", "-G", type, "-u", "ek.pub"], in: d)
            try swtpm.tool("tpm2_createak", ["-C", "ek.ctx", "-c", "ak.ctx", "-G", type, "-g", "sha256", "-s", scheme,
                                             "-u", "ak.pub", "-n", "ak.name", "-r", "ak.priv"], in: d)
            // No resource manager: free the 3 object slots so tpm2_quote can load ak.ctx.
            try swtpm.tool("tpm2_flushcontext", ["-t"])
            try swtpm.tool("tpm2_quote", ["-c", "ak.ctx", "-l", selection.tpm2ToolsArgument, "-q", Hex.encode(nonce),
                                          "-m", "quote.msg", "-s", "quote.sig", "-o", "quote.pcrs", "-g", "sha256"], in: d)
            try swtpm.tool("tpm2_readpublic", ["-c", "ak.ctx", "-f", "pem", "-o", "ak.pem"], in: d)
            try swtpm.tool("tpm2_flushcontext", ["-t"])

            let ak = try TPMPublic(tpm2bPublic: try read("\(type)/ak.pub"))
            XCTAssertTrue(ak.attributes.isSuperset(of: .attestationKeyRequired), "\(ak.attributes)")
            XCTAssertEqual(try ak.name(), try read("\(type)/ak.name"), "TPM Name as tpm2_createak computes it")
            XCTAssertEqual(try ak.publicKey().spkiDER, try PublicKey.decode(pem: try read("\(type)/ak.pem")).spkiDER,
                           "raw TPM key → OpenSSL key as tpm2_readpublic converts it")
            XCTAssertEqual(try ak.publicKey().spkiPEM, try read("\(type)/ak.pem"))

            let file = try read("\(type)/quote.pcrs")
            let (fileSelection, values) = try TPM2ToolsPCRFile.decode(file)
            XCTAssertEqual(fileSelection, selection)
            XCTAssertEqual(TPM2ToolsPCRFile.encode(selection: fileSelection, values: values), file,
                           "our PCR file is byte-identical to tpm2_quote -o")
            let verified = try QuoteVerifier.verify(attest: try read("\(type)/quote.msg"), signature: try read("\(type)/quote.sig"),
                                                    ak: ak, nonce: nonce, pcrs: values)
            XCTAssertEqual(verified.attest.qualifiedSigner.count, 34)
            // The values tpm2_quote read are the ones we read.
            XCTAssertEqual(try withTPM { try $0.readPCRs(selection) }, values)
            assertRejected(.nonceMismatch) {
                try QuoteVerifier.verify(attest: try self.read("\(type)/quote.msg"), signature: try self.read("\(type)/quote.sig"),
                                         ak: ak, nonce: self.nonce(20), pcrs: values)
            }
        }
    }
}
