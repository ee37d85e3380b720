import TPM
import CTSS2

/// Moves tpm2-tss C structures to and from their TPM wire encoding with the
/// libtss2-mu functions, so Swift builds and reads TPM structures as bytes
/// (with the pure parsers of this module) and never touches C unions or
/// fixed-size array tuples.
enum TSSMarshaling {
    typealias Unmarshal<T> = (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<T>?) -> TSS2_RC
    typealias Marshal<T> = (UnsafePointer<T>?, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?) -> TSS2_RC

    /// Decodes `bytes` (which must be consumed entirely) into a C structure.
    static func unmarshal<T>(_ bytes: [UInt8], _ initial: T, _ fn: Unmarshal<T>, _ what: String) throws(TPMError) -> T {
        var value = initial
        var offset = 0
        let rc = bytes.withUnsafeBufferPointer { buf in fn(buf.baseAddress, buf.count, &offset, &value) }
        guard rc == 0 else { throw TPMError.tss(rc, "unmarshal \(what)", code: .invalidArgument) }
        guard offset == bytes.count else {
            throw TPMError(.invalidArgument, operation: "unmarshal \(what)", "\(bytes.count - offset) byte(s) left over")
        }
        return value
    }

    /// Encodes a C structure.
    static func marshal<T>(_ value: UnsafePointer<T>, _ fn: Marshal<T>, _ what: String) throws(TPMError) -> [UInt8] {
        // The wire form is never larger than the C struct, whose arrays have their maximum size.
        var out = [UInt8](repeating: 0, count: MemoryLayout<T>.size + 64)
        var offset = 0
        let rc = out.withUnsafeMutableBufferPointer { buf in fn(value, buf.baseAddress, buf.count, &offset) }
        guard rc == 0 else { throw TPMError.tss(rc, "marshal \(what)", code: .unexpectedResponse) }
        return Array(out[0..<offset])
    }

    /// Encodes a C structure that ESAPI allocated (and that the caller frees).
    static func marshal<T>(_ value: UnsafeMutablePointer<T>?, _ fn: Marshal<T>, _ what: String) throws(TPMError) -> [UInt8] {
        guard let value else { throw TPMError(.unexpectedResponse, operation: what, "the TSS returned no \(what)") }
        return try marshal(UnsafePointer(value), fn, what)
    }
}
