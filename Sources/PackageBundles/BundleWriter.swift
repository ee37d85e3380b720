import SignetCrypto

/// Writes a document and its detached signature, each atomically (temporary file, fsync,
/// rename), the signature first: a reader never sees half a file.
public enum BundleWriter {
    public static func write(bytes: [UInt8], signature: [UInt8], to path: String) throws(BundleError) {
        do {
            try FileBytes.writeAtomically(signature, to: path + ".sig", mode: 0o644)
            try FileBytes.writeAtomically(bytes, to: path, mode: 0o644)
        } catch {
            throw BundleError(.io, source: path, "\(error)")
        }
    }

    /// Writes every bundle into `directory` (created if needed), after checking that no two
    /// claim the same file name.
    public static func write(_ bundles: [BuiltBundle], into directory: String) throws(BundleError) -> [String] {
        var byName = [String: BuiltBundle]()
        for b in bundles {
            if let other = byName[b.bundle.fileName], other.scanned.sha256 != b.scanned.sha256 {
                throw BundleError(.conflict, source: b.scanned.source, field: "deb",
                                  "\(b.bundle.label) is also '\(other.scanned.source)', a different .deb: one bundle file per package version")
            }
            byName[b.bundle.fileName] = b
        }
        try BundleRepository.makeDirectories(directory)
        var written = [String]()
        for (name, b) in byName.sorted(by: { $0.key < $1.key }) {
            let path = directory + "/" + name
            try write(bytes: b.bytes, signature: b.signature, to: path)
            written.append(path)
        }
        return written
    }
}
