import IMAFormat
import Provenance

extension Manifest {
    /// The manifest of a signing run: one entry per image path of every file
    /// that is signed (now or already). Failed and unselected files are absent.
    public init(header: Header, signed: [SignedFile]) {
        var entries = [Entry]()
        for s in signed {
            switch s.outcome {
            case .signed, .alreadySigned: break
            case .notSelected, .otherKey, .failed: continue
            }
            guard case .signature(let sig)? = try? IMAXattr(bytes: s.xattr) else { continue }
            for path in s.file.imagePaths {
                entries.append(Entry(path: path, size: s.bytesRead, mode: s.file.mode, uid: s.file.uid, gid: s.file.gid,
                                     digestAlgorithm: sig.hashAlgorithm, digest: s.digest, keyID: sig.keyID,
                                     signer: header.signer.fingerprint, imaXattr: s.xattr))
            }
        }
        self.init(header: header, entries: entries)
    }
}
