import CCompression

/// zlib in gzip mode: one or more members; anything else after a member is an error.
final class GzipBackend: DecoderBackend {
    private let stream: UnsafeMutablePointer<z_stream>
    /// The last member ended; the next byte, if any, must start a new member.
    private var betweenMembers = false
    private var sawInput = false

    init() throws(DecompressionError) {
        // zlib checks that the stream stays at the address it was initialised at.
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = signet_inflate_init_gzip(stream)
        guard rc == Z_OK else {
            stream.deallocate()
            throw DecompressionError(rc == Z_MEM_ERROR ? .outOfMemory : .unsupported, format: .gzip, offset: 0,
                                     "cannot start the gzip decoder (zlib error \(rc))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
              finishing: Bool, at offset: Int64) throws(DecompressionError) -> DecoderStep {
        if finishing {
            guard sawInput else { throw DecompressionError(.truncated, format: .gzip, offset: offset, "empty input: no gzip member") }
            if betweenMembers { return DecoderStep(consumed: 0, produced: 0, ended: true) }
        }
        if input.count > 0 {
            sawInput = true
            if betweenMembers {
                guard input[0] == 0x1f else {
                    throw DecompressionError(.trailingData, format: .gzip, offset: offset,
                                             "\(input.count) or more byte(s) after the gzip stream are not a gzip member")
                }
                inflateReset(stream)
                betweenMembers = false
            }
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(min(input.count, Int(UInt32.max)))
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = UInt32(min(output.count, Int(UInt32.max)))
        let availIn = Int(stream.pointee.avail_in)
        let rc = inflate(stream, Z_NO_FLUSH)
        let consumed = availIn - Int(stream.pointee.avail_in)
        let produced = output.count - Int(stream.pointee.avail_out)
        let at = offset + Int64(consumed)
        switch rc {
        case Z_OK:
            return DecoderStep(consumed: consumed, produced: produced, ended: false)
        case Z_STREAM_END:
            betweenMembers = true
            return DecoderStep(consumed: consumed, produced: produced, ended: false)
        case Z_BUF_ERROR:
            if finishing && produced == 0 {
                throw DecompressionError(.truncated, format: .gzip, offset: at, "the input ends inside the gzip stream (truncated)")
            }
            return DecoderStep(consumed: consumed, produced: produced, ended: false)
        case Z_MEM_ERROR:
            throw DecompressionError(.outOfMemory, format: .gzip, offset: at, "out of memory")
        default:
            let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
            throw DecompressionError(.corrupt, format: .gzip, offset: at, "corrupt gzip data: \(message)")
        }
    }
}
