import CCompression

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
