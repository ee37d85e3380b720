import CCompression

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
