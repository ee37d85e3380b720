import CCompression

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
