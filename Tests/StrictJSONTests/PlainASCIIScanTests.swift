import XCTest
@testable import StrictJSON

/// The word-at-a-time scan of string contents skips exactly the whole 8-byte
/// words before the first byte the byte loop must look at (non-printable,
/// non-ASCII, '"', '\\').
final class PlainASCIIScanTests: XCTestCase {
    func testTheWordScanNeverSkipsAByteThatNeedsAttention() {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let special: [UInt8] = [0x00, 0x1F, 0x20, 0x21, 0x22, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F, 0x80, 0xC3, 0xFF]
        for _ in 0..<20_000 {
            let count = Int(next() % 40)
            var bytes = (0..<count).map { _ in UInt8(0x23 + next() % 0x39) }  // plain: '#'…'['
            for _ in 0..<Int(next() % 3) where count > 0 { bytes[Int(next() % UInt64(count))] = special[Int(next() % UInt64(special.count))] }
            let start = count == 0 ? 0 : Int(next() % UInt64(count))
            let firstSpecial = bytes[start...].firstIndex { $0 < 0x20 || $0 >= 0x80 || $0 == 0x22 || $0 == 0x5C } ?? count
            let stop = bytes.withUnsafeBufferPointer { Parser.skipPlainASCII($0, from: start) }
            // Exactly the start of the word holding the first such byte (or of the last partial word).
            XCTAssertEqual(stop, start + (firstSpecial - start) / 8 * 8, "\(bytes) from \(start)")
        }
    }
}
