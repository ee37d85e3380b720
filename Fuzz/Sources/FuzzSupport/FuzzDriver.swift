/// Runs libFuzzer's driver with `body` as the target. SwiftPM links an
/// executable's entry point as `<Target>_main`, so each fuzz target defines
/// that symbol and hands control to libFuzzer from there.
public typealias FuzzBody = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: FuzzBody) -> CInt

public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ body: FuzzBody) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, body)
}

/// The input as an array (libFuzzer may pass a null pointer for size 0).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Calls `body` with `bytes` in consecutive pieces of at most `size` bytes (the last may be
/// shorter; none for empty input): how the streaming parsers are fed to test that a result does
/// not depend on where the input is cut.
public func forEachChunk(of bytes: [UInt8], size: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
    var i = 0
    while i < bytes.count {
        let n = min(size, bytes.count - i)
        try bytes[i..<i + n].withUnsafeBytes(body)
        i += n
    }
}
