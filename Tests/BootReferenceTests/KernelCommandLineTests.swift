import BootReference
import XCTest

final class KernelCommandLineTests: XCTestCase {
    func testSplitsAsTheKernelDoes() {
        let line = KernelCommandLine("/boot/vmlinuz-6.12 root=UUID=ab-cd ro  lsm=\"lockdown,integrity\" \"quoted=a b\" ima-policy=tcb -- single x=1",
                                     leadingImagePath: true)
        XCTAssertEqual(line.bootImage, "/boot/vmlinuz-6.12")
        XCTAssertEqual(line.parameters.map(\.name), ["root", "ro", "lsm", "quoted", "ima_policy"])
        XCTAssertEqual(line.parameters.map(\.value), ["UUID=ab-cd", nil, "lockdown,integrity", "a b", "tcb"])
        XCTAssertEqual(line.initArguments, ["single", "x=1"])
        XCTAssertEqual(line.lastValue("ima_policy"), "tcb")
        let repeated = KernelCommandLine("BOOT_IMAGE=/vmlinuz a=1 a=2 b", leadingImagePath: true)
        XCTAssertEqual(repeated.bootImage, "/vmlinuz")
        XCTAssertEqual(repeated.lastValue("a"), "2")
        XCTAssertEqual(repeated.occurrences("a").count, 2)
        XCTAssertEqual(KernelCommandLine("").parameters, [])
        XCTAssertEqual(KernelCommandLine("  \"  ").parameters.count, 1)  // an unterminated quote: one word, no trap
        XCTAssertEqual(KernelCommandLine("a=\"").parameters.map(\.value), [""])
    }
}
