/// The decoded content of one template field.
public enum TemplateFieldValue: Equatable, Sendable {
    /// A zero-length field: the kernel writes one when it has nothing to record
    /// (`sig` of an unsigned file, `d-modsig`/`modsig` without an appended
    /// signature, `evmsig` without a portable signature, `buf` without a buffer).
    case empty
    /// `d`: the bare digest.
    case digest([UInt8])
    /// `d-ng`, `d-ngv2`, `d-modsig`.
    case eventDigest(EventDigest)
    /// `n`, `n-ng`: the name's bytes, without the terminating NUL. Names are bytes,
    /// not text: Linux paths need not be UTF-8. A name with a NUL inside, or
    /// (`n-ng`) without its terminating NUL, is kept whole and reported by
    /// `MeasurementEntry.malformation`.
    case name([UInt8])
    /// `sig`, `evmsig`: the raw xattr value and its decoding. A malformed value
    /// does not fail the log (the bytes came from a file's xattr, not from the
    /// kernel); the verifier judges it.
    case xattr([UInt8], Result<IMAXattr, IMAFormatError>)
    /// `buf`, `modsig`, `xattrvalues`: opaque bytes.
    case bytes([UInt8])
    /// `xattrnames`: the names, split at '|', trailing NUL removed.
    case xattrNames([[UInt8]])
    /// `xattrlengths`: one length per xattr.
    case xattrLengths([UInt32])
    /// `iuid`, `igid`, `imode`.
    case unsignedInteger(UInt64)
}
