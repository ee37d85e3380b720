import XCTest
@testable import IMAFormat

final class PolicyKernelVersionTests: XCTestCase {
    func testParsesReleaseStrings() {
        XCTAssertEqual(KernelVersion("6.1"), KernelVersion(6, 1, 0))
        XCTAssertEqual(KernelVersion("6.12.5"), KernelVersion(6, 12, 5))
        XCTAssertEqual(KernelVersion("6.1.0-13-amd64"), KernelVersion(6, 1, 0))
        XCTAssertEqual(KernelVersion("5.15.0+"), KernelVersion(5, 15, 0))
        for bad in ["", "6", "6.", ".1", "6.1.2.3", "v6.1", "six.one", "6.1a", "6..1"] {
            XCTAssertNil(KernelVersion(bad), bad)
        }
        XCTAssertEqual(KernelVersion(6, 1).description, "6.1")
        XCTAssertEqual(KernelVersion(6, 12, 5).description, "6.12.5")
    }

    func testOrdersNumericallyNotLexically() {
        XCTAssertLessThan(KernelVersion(6, 2), KernelVersion(6, 12))
        XCTAssertLessThan(KernelVersion(5, 19, 17), KernelVersion(6, 0))
        XCTAssertLessThan(KernelVersion(6, 1, 9), KernelVersion(6, 1, 10))
    }

    func testFeatureVersionsMatchTheIntegrityPullRequests() {
        let expected: [KernelFeature: KernelVersion] = [
            .mmapCheckReqprot: KernelVersion(6, 3), .setxattrCheck: KernelVersion(5, 15),
            .appraiseAlgos: KernelVersion(5, 15), .criticalData: KernelVersion(5, 12), .keyCheck: KernelVersion(5, 6),
            .sigv3: KernelVersion(5, 19), .verityDigest: KernelVersion(5, 19), .ngv2Templates: KernelVersion(5, 19),
            .groupIDs: KernelVersion(5, 16), .ruleTemplate: KernelVersion(5, 3), .modsig: KernelVersion(5, 4),
        ]
        for (feature, version) in expected {
            XCTAssertEqual(feature.minimumVersion, version, feature.rawValue)
        }
    }

    func testFeaturesARuleNeeds() throws {
        XCTAssertEqual(KernelFeature.required(by: try IMAPolicyRule(parsing: "appraise func=BPRM_CHECK appraise_type=imasig")), [])
        XCTAssertEqual(KernelFeature.required(by: try IMAPolicyRule(
            parsing: "appraise func=MMAP_CHECK_REQPROT fgroup=0 digest_type=verity appraise_type=sigv3 appraise_algos=sha256")),
            [.appraiseAlgos, .groupIDs, .verityDigest, .sigv3, .mmapCheckReqprot])
        XCTAssertEqual(KernelFeature.required(by: try IMAPolicyRule(parsing: "measure func=KEY_CHECK keyrings=.ima template=ima-buf")),
                       [.ruleTemplate, .imaBufTemplate, .keyCheck, .keyrings])
    }
}
