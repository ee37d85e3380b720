import CCompression

/// Limits a decoder works within, so a hostile stream costs bounded memory.
public struct DecompressionOptions: Sendable {
    /// The most memory liblzma may use for one xz or lzma stream (xz -9 needs 65 MiB).
    public var xzMemoryLimit: UInt64 = 256 << 20
    /// The largest zstd window accepted, as a power of two (27 = 128 MiB, zstd's own default limit).
    public var zstdWindowLogMax: Int32 = 27
    /// Decoder threads for xz (multi-block streams, as `xz -T` and dpkg-deb write them); 1 decodes inline.
    public var threads: Int = 1
    /// Decompressed bytes allowed in all (a bound on expansion bombs).
    public var maxOutput: Int64 = 1 << 40
    /// Size of the output buffer each call fills.
    public var bufferSize: Int = 256 << 10

    public init() {}
}

/// A streaming decoder for one compressed stream: xz, lzma, zstd, gzip, or none.
///
/// Feed compressed bytes with `decompress(_:consumed:)` and take the output it returns (a view
/// of an internal buffer, valid until the next call); when the input ends call `finish()` until it
/// returns nothing, which also checks that the stream was complete. No I/O; not thread-safe (one
/// per stream). Errors are `DecompressionError`s that name the format and the compressed offset.
public final class Decompressor {
    public let format: CompressionFormat
    public let options: DecompressionOptions
    /// Compressed bytes consumed so far.
    public private(set) var inputOffset: Int64 = 0
    /// Decompressed bytes produced so far.
    public private(set) var outputCount: Int64 = 0
    private let backend: DecoderBackend
    private let buffer: UnsafeMutableRawBufferPointer
    private var ended = false

    public init(_ format: CompressionFormat, options: DecompressionOptions = .init()) throws(DecompressionError) {
        self.format = format
        self.options = options
        switch format {
        case .none: backend = PassThroughBackend()
        case .xz, .lzma: backend = try XZBackend(format: format, options: options)
        case .zstd: backend = try ZstdBackend(options: options)
        case .gzip: backend = try GzipBackend()
        }
        buffer = .allocate(byteCount: max(4096, options.bufferSize), alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// True once `finish()` has seen the complete stream.
    public var isFinished: Bool { ended }

    /// Decodes from `input[consumed...]`, advancing `consumed`, and returns the bytes produced.
    /// Call again while it returns bytes or input remains; an empty result with every input
    /// byte consumed means it needs more input.
    public func decompress(_ input: UnsafeRawBufferPointer, consumed: inout Int) throws(DecompressionError) -> UnsafeRawBufferPointer {
        precondition(consumed >= 0 && consumed <= input.count)
        if format == .none {
            // No copy: the input is the output.
            let out = UnsafeRawBufferPointer(rebasing: input[consumed...])
            consumed = input.count
            inputOffset += Int64(out.count)
            try account(out.count)
            return out
        }
        if consumed == input.count { return UnsafeRawBufferPointer(start: nil, count: 0) }
        // liblzma reports "no progress" only on the second call that makes none: retry a few times.
        for _ in 0..<4 {
            let rest = UnsafeRawBufferPointer(rebasing: input[consumed...])
            let step = try backend.step(rest, into: buffer, finishing: false, at: inputOffset)
            consumed += step.consumed
            inputOffset += Int64(step.consumed)
            try account(step.produced)
            if step.produced > 0 || step.consumed > 0 || consumed == input.count {
                return UnsafeRawBufferPointer(rebasing: buffer[0..<step.produced])
            }
        }
        throw DecompressionError(.corrupt, format: format, offset: inputOffset, "the decoder makes no progress on this input")
    }

    /// The input has ended: returns the output still held by the decoder, and an empty buffer once
    /// the stream is complete. Throws `.truncated` when the input ended inside the stream.
    public func finish() throws(DecompressionError) -> UnsafeRawBufferPointer {
        if ended { return UnsafeRawBufferPointer(start: nil, count: 0) }
        for _ in 0..<4 {
            let step = try backend.step(UnsafeRawBufferPointer(start: nil, count: 0), into: buffer, finishing: true, at: inputOffset)
            try account(step.produced)
            if step.produced > 0 { return UnsafeRawBufferPointer(rebasing: buffer[0..<step.produced]) }
            if step.ended {
                ended = true
                return UnsafeRawBufferPointer(start: nil, count: 0)
            }
        }
        throw DecompressionError(.truncated, format: format, offset: inputOffset,
                                 "the input ends inside the \(format) stream (truncated)")
    }

    private func account(_ produced: Int) throws(DecompressionError) {
        outputCount += Int64(produced)
        if outputCount > options.maxOutput {
            throw DecompressionError(.outputLimit, format: format, offset: inputOffset,
                                     "expands to more than \(options.maxOutput) bytes")
        }
    }
}

/// One decoder step: how much input was used, how much output made, and (when finishing)
/// whether the stream is complete.
struct DecoderStep {
    var consumed: Int
    var produced: Int
    var ended: Bool
}

protocol DecoderBackend: AnyObject {
    /// `offset` is the compressed offset of `input`'s first byte, for errors.
    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
              finishing: Bool, at offset: Int64) throws(DecompressionError) -> DecoderStep
}

final class PassThroughBackend: DecoderBackend {
    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
              finishing: Bool, at offset: Int64) -> DecoderStep {
        DecoderStep(consumed: 0, produced: 0, ended: true)
    }
}

/// liblzma: xz (concatenated streams, optionally multi-threaded) and LZMA_Alone.
final class XZBackend: DecoderBackend {
    private let stream: UnsafeMutablePointer<lzma_stream>
    private let format: CompressionFormat
    private var streamEnded = false

    init(format: CompressionFormat, options: DecompressionOptions) throws(DecompressionError) {
        self.format = format
        stream = .allocate(capacity: 1)
        stream.initialize(to: lzma_stream())  // all zero: LZMA_STREAM_INIT
        let rc: lzma_ret
        if format == .lzma {
            rc = lzma_alone_decoder(stream, options.xzMemoryLimit)
        } else if options.threads > 1 {
            var mt = lzma_mt()
            mt.flags = signet_lzma_concatenated
            mt.threads = UInt32(min(options.threads, 64))
            mt.timeout = 0
            mt.memlimit_threading = options.xzMemoryLimit
            mt.memlimit_stop = options.xzMemoryLimit
            rc = lzma_stream_decoder_mt(stream, &mt)
        } else {
            rc = lzma_stream_decoder(stream, options.xzMemoryLimit, signet_lzma_concatenated)
        }
        guard rc == LZMA_OK else {
            lzma_end(stream)
            stream.deallocate()
            throw DecompressionError(rc == LZMA_MEM_ERROR ? .outOfMemory : .unsupported, format: format, offset: 0,
                                     "cannot start the \(format) decoder (liblzma error \(rc.rawValue))")
        }
    }

    deinit {
        lzma_end(stream)
        stream.deallocate()
    }

    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
              finishing: Bool, at offset: Int64) throws(DecompressionError) -> DecoderStep {
        if streamEnded {
            // LZMA_Alone holds one stream; xz reports its end only when finishing, after all input.
            if input.count > 0 {
                throw DecompressionError(.trailingData, format: format, offset: offset,
                                         "\(input.count) byte(s) follow the end of the \(format) stream")
            }
            return DecoderStep(consumed: 0, produced: 0, ended: true)
        }
        stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = input.count
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = output.count
        let rc = lzma_code(stream, finishing ? LZMA_FINISH : LZMA_RUN)
        let consumed = input.count - stream.pointee.avail_in
        let produced = output.count - stream.pointee.avail_out
        let at = offset + Int64(consumed)
        switch rc {
        case LZMA_OK:
            return DecoderStep(consumed: consumed, produced: produced, ended: false)
        case LZMA_STREAM_END:
            streamEnded = true
            return DecoderStep(consumed: consumed, produced: produced, ended: produced == 0)
        case LZMA_BUF_ERROR:
            // No progress possible: when finishing, the input ended inside the stream.
            if finishing && produced == 0 {
                throw DecompressionError(.truncated, format: format, offset: at,
                                         "the input ends inside the \(format) stream (truncated)")
            }
            return DecoderStep(consumed: consumed, produced: produced, ended: false)
        case LZMA_MEMLIMIT_ERROR:
            throw DecompressionError(.memoryLimit, format: format, offset: at,
                                     "decoding needs \(lzma_memusage(stream) >> 20) MiB, more than the \(lzma_memlimit_get(stream) >> 20) MiB allowed")
        case LZMA_FORMAT_ERROR:
            throw DecompressionError(.corrupt, format: format, offset: at,
                                     "not \(format == .xz ? "an xz" : "an lzma") stream (bad magic bytes or header)")
        case LZMA_OPTIONS_ERROR:
            throw DecompressionError(.unsupported, format: format, offset: at, "the stream uses unsupported options (filter or header flags)")
        case LZMA_DATA_ERROR:
            throw DecompressionError(.corrupt, format: format, offset: at, "corrupt compressed data (bad block, index, size or check)")
        case LZMA_MEM_ERROR:
            throw DecompressionError(.outOfMemory, format: format, offset: at, "out of memory")
        default:
            throw DecompressionError(.corrupt, format: format, offset: at, "liblzma error \(rc.rawValue)")
        }
    }
}

/// libzstd: one or more frames (skippable frames included), window limited.
final class ZstdBackend: DecoderBackend {
    private let context: OpaquePointer
    /// The last return of ZSTD_decompressStream: 0 when a frame was completely decoded and flushed.
    private var pending: Int = 1
    private var sawInput = false
    private let windowLogMax: Int32

    init(options: DecompressionOptions) throws(DecompressionError) {
        windowLogMax = options.zstdWindowLogMax
        guard let ctx = ZSTD_createDCtx() else {
            throw DecompressionError(.outOfMemory, format: .zstd, offset: 0, "cannot create a zstd decoder")
        }
        context = ctx
        let rc = ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, options.zstdWindowLogMax)
        if ZSTD_isError(rc) != 0 {
            ZSTD_freeDCtx(ctx)
            throw DecompressionError(.unsupported, format: .zstd, offset: 0, "cannot set the zstd window limit: \(Self.name(rc))")
        }
    }

    deinit { ZSTD_freeDCtx(context) }

    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
              finishing: Bool, at offset: Int64) throws(DecompressionError) -> DecoderStep {
        if input.count > 0 { sawInput = true }
        if finishing && (pending == 0 || !sawInput) {
            guard sawInput else {
                throw DecompressionError(.truncated, format: .zstd, offset: offset, "empty input: no zstd frame")
            }
            return DecoderStep(consumed: 0, produced: 0, ended: true)
        }
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let rc = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
        let at = offset + Int64(inBuffer.pos)
        if ZSTD_isError(rc) != 0 {
            let code = ZSTD_getErrorCode(rc)
            if code == ZSTD_error_frameParameter_windowTooLarge {
                throw DecompressionError(.memoryLimit, format: .zstd, offset: at,
                                         "the frame's window is larger than the \((1 << Int(windowLogMax)) >> 20) MiB allowed (\(Self.name(rc)))")
            }
            if code == ZSTD_error_memory_allocation {
                throw DecompressionError(.outOfMemory, format: .zstd, offset: at, Self.name(rc))
            }
            if code == ZSTD_error_prefix_unknown && offset + Int64(inBuffer.pos) > 0 && pending == 0 {
                throw DecompressionError(.trailingData, format: .zstd, offset: at, "bytes after the last zstd frame are not a frame: \(Self.name(rc))")
            }
            throw DecompressionError(.corrupt, format: .zstd, offset: at, Self.name(rc))
        }
        // A call that neither read nor wrote says nothing about the frame (after a frame's end it
        // would ask for the next frame's header).
        if inBuffer.pos > 0 || outBuffer.pos > 0 { pending = rc }
        if finishing && outBuffer.pos == 0 && rc != 0 {
            throw DecompressionError(.truncated, format: .zstd, offset: at, "the input ends inside a zstd frame (truncated)")
        }
        return DecoderStep(consumed: inBuffer.pos, produced: outBuffer.pos, ended: false)
    }

    private static func name(_ rc: Int) -> String { String(cString: ZSTD_getErrorName(rc)) }
}

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
