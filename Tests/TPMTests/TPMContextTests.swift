import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport
@testable import TPM
@testable import TPMDevice

/// PCR reads, endorsement keys and TCTI handling against a real swtpm.
final class TPMContextTests: SwtpmTestCase {
    func testPCRReadMatchesTpm2Pcrread() throws {
        try extendSHA256(10, "ima")
        try extendSHA256(23, "app")
        try swtpm.tool("tpm2_pcrextend", ["10:sha1=\(Hex.encode(Digester.hash([1], .sha1)))"])
        // 24 + 24 + 2 PCRs: more than the 8 one TPM2_PCR_Read returns.
        let selection = try PCRSelection(parsing: "sha256:all+sha1:0-23+sha384:0,10")
        let ours = try withTPM { try $0.readPCRs(selection) }
        XCTAssertEqual(ours.count, 50)
        XCTAssertEqual(ours.map { "\($0.bank):\($0.index)" }, selection.selected.map { "\($0.bank):\($0.index)" })

        try swtpm.tool("tpm2_pcrread", ["-o", dir.url("pcrs.bin"), selection.tpm2ToolsArgument])
        XCTAssertEqual(ours.flatMap(\.digest), try read("pcrs.bin"))
        let pcr10 = ours.first { $0.bank == .sha256 && $0.index == 10 }!
        XCTAssertEqual(pcr10.digest, Digester.hash([UInt8](repeating: 0, count: 32) + Digester.hash(Array("ima".utf8), .sha256), .sha256))
        XCTAssertEqual(ours.first { $0.bank == .sha256 && $0.index == 0 }!.digest, [UInt8](repeating: 0, count: 32))

        // The default selection.
        let defaults = try withTPM { try $0.readPCRs() }
        XCTAssertEqual(defaults.map(\.index), Array(0...10))
        XCTAssertEqual(defaults[10], pcr10)
    }

    func testPCRReadErrors() throws {
        try withTPM { tpm in
            XCTAssertThrowsError(try tpm.readPCRs(PCRSelection([]))) { XCTAssertEqual(($0 as? TPMError)?.code, .invalidArgument) }
            // SM3 is not a bank swtpm has active.
            XCTAssertThrowsError(try tpm.readPCRs(PCRSelection([.init(.sm3_256, pcrs: [0])]))) {
                XCTAssertTrue([.unexpectedResponse, .commandFailed].contains(($0 as? TPMError)?.code), "\($0)")
            }
        }
    }

    func testEndorsementKeysMatchTpm2Createek() throws {
        let (rsa, ecc, rsaAgain) = try withTPM { tpm in
            (try tpm.endorsementKey(.rsa2048), try tpm.endorsementKey(.eccP256), try tpm.endorsementKey(.rsa2048))
        }
        XCTAssertEqual(rsa.publicArea, rsaAgain.publicArea, "an EK is derived from the seed: the same every time")
        XCTAssertNil(rsa.certificate)
        XCTAssertNil(ecc.certificate)
        XCTAssertEqual(rsa.publicArea.attributes, TPMTemplates.ekAttributes)
        XCTAssertEqual(rsa.publicArea.authPolicy, TPMTemplates.ekAuthPolicy)
        guard case .rsa(let modulus) = rsa.publicArea.unique, case .ecc(let x, let y) = ecc.publicArea.unique else {
            return XCTFail("wrong key types")
        }
        XCTAssertEqual(modulus.count, 256)
        XCTAssertEqual([x.count, y.count], [32, 32])
        XCTAssertEqual(try rsa.publicKey().algorithm, .rsa(bits: 2048))
        XCTAssertEqual(try ecc.publicKey().algorithm, .ecdsa(curve: .p256))

        for (type, ours) in [("rsa", rsa), ("ecc", ecc)] {
            try swtpm.tool("tpm2_createek", ["-c", dir.url("ek-\(type).ctx"), "-G", type, "-u", dir.url("ek-\(type).pub"),
                                             "-f", "tss"])
            try swtpm.tool("tpm2_flushcontext", ["-t"])
            let theirs = try TPMPublic(tpm2bPublic: try read("ek-\(type).pub"))
            XCTAssertEqual(theirs, ours.publicArea, type)
            XCTAssertEqual(try theirs.name(), try ours.publicArea.name())
        }
    }

    func testTCTIErrorsAndEnvironment() throws {
        let closed = try Swtpm.freePort()
        XCTAssertThrowsError(try TPMContext(tcti: "swtpm:host=127.0.0.1,port=\(closed)")) {
            XCTAssertEqual(($0 as? TPMError)?.code, .tctiUnavailable, "\($0)")
        }
        XCTAssertThrowsError(try TPMContext(tcti: "nosuchtcti:foo")) {
            XCTAssertEqual(($0 as? TPMError)?.code, .tctiUnavailable, "\($0)")
        }
        setenv(TPMContext.environmentVariable, swtpm.tcti, 1)
        defer { unsetenv(TPMContext.environmentVariable) }
        let tpm = try TPMContext()
        XCTAssertEqual(tpm.tcti, swtpm.tcti)
        XCTAssertEqual(try tpm.readPCRs(PCRSelection(.sha256, [0])).count, 1)
    }

    func testNVReadOfAbsentIndex() throws {
        try withTPM { tpm in
            XCTAssertNil(try tpm.readNV(index: 0x01c0_0002))
            XCTAssertNil(try tpm.endorsementCertificate(.eccP256))
        }
    }
}
