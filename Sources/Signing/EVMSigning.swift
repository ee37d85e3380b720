#if canImport(Glibc)
import Glibc
#endif
import CLinux
import IMAFormat
import Provenance
import SignetCrypto

/// How portable EVM signatures (security.evm, type 0x05) are computed: the
/// metadata the file will have *in the image*, which may differ from the build
/// host's (files built by an unprivileged user, labels given by the target's
/// policy). Shared by signing and `verify --evm`.
public struct EVMSigningOptions: Sendable, Equatable {
    /// Owner as it will be in the image (the target's init user namespace); nil: the file's own.
    public var uid: UInt32?
    /// Group as it will be in the image; nil: the file's own.
    public var gid: UInt32?
    /// The SELinux context the target gives every file (hashed as `label\0`);
    /// nil: the file's own security.selinux when it has one.
    public var selinuxLabel: String?
    /// A raw security.capability value (vfs_cap_data) every file will carry;
    /// nil: the file's own security.capability when it has one.
    public var capability: [UInt8]?
    /// Which xattrs the target kernel protects.
    public var target: EVMTargetKernel = .debian
    /// The target's `struct h_misc` layout and byte order.
    public var layout: EVMMiscLayout = .lp64
    public var byteOrder: EVMByteOrder = .little

    public init() {}
}

/// Reading, computing and signing portable EVM values for open files.
enum EVMComputation {
    /// The protected xattrs `handle` carries (security.ima replaced by `ima`
    /// when given: the value about to be written), with command-line overrides.
    static func input(for handle: borrowing OpenFile, ima: [UInt8]?, options: EVMSigningOptions) throws(FileProblem) -> EVMPortableInput {
        var values = [EVMProtectedXattr: [UInt8]]()
        for name in options.target.protected {
            if name == .ima, let ima { values[.ima] = ima; continue }
            if let v = try handle.xattr(name.name) { values[name] = v }
        }
        if let label = options.selinuxLabel, options.target.protected.contains(.selinux) {
            let wanted: [UInt8]
            do { wanted = try EVMPortableInput.selinuxValue(label) } catch { throw .evm(error.at(handle.path.description)) }
            if let own = values[.selinux], own != wanted {
                throw .evm(.labelConflict(path: handle.path.description, found: EVMPortableInput.selinuxLabel(own), expected: label))
            }
            values[.selinux] = wanted
        }
        if let caps = options.capability { values[.capability] = caps }
        do {
            return try EVMPortableInput(values: values,
                                        uid: options.uid ?? UInt32(handle.status.st_uid),
                                        gid: options.gid ?? UInt32(handle.status.st_gid),
                                        mode: UInt32(handle.status.st_mode),
                                        target: options.target, layout: options.layout, byteOrder: options.byteOrder)
        } catch {
            throw .evm(error.at(handle.path.description))
        }
    }

    /// The digest the kernel verifies: `algorithm` over the input's bytes.
    static func digest(_ input: EVMPortableInput, _ algorithm: HashAlgorithm) -> [UInt8] {
        Digester.hash(input.hashedBytes(), algorithm)
    }

    /// A complete security.evm value for `input`, signed with `key`.
    static func sign(_ input: EVMPortableInput, key: PrivateKey, keyID: UInt32, algorithm: HashAlgorithm) throws(FileProblem) -> [UInt8] {
        do {
            let signature = try key.sign(digest: digest(input, algorithm), algorithm: algorithm)
            return EVMXattr.portable(hashAlgorithm: algorithm, keyID: keyID, signature: signature).encoded()
        } catch {
            throw .signingFailed("security.evm: \(error)")
        }
    }
}

extension SigningPipeline {
    /// Checks, before any file is touched, that the SELinux labels the tree
    /// carries say what the target will see: either every file has
    /// security.selinux or none does, and none contradicts `--evm-selinux`.
    /// Throws an `EVMError` naming the first offending file.
    public func checkEVMLabels(_ files: [WalkedFile]) throws(EVMError) {
        guard let evm = options.evm else { return }
        try EVMLabelCheck.check(files, options: evm)
    }
}

/// The tree-level label rule of `signet sign --evm` (see `SigningPipeline.checkEVMLabels`).
public enum EVMLabelCheck {
    /// Throws `.inconsistentLabels` or `.labelConflict` naming the file.
    public static func check(_ files: [WalkedFile], options: EVMSigningOptions) throws(EVMError) {
        guard options.target.protected.contains(.selinux) else { return }
        let wanted: [UInt8]?
        if let label = options.selinuxLabel {
            wanted = try EVMPortableInput.selinuxValue(label)
        } else {
            wanted = nil
        }
        var firstLabelled: FilePath?
        var firstUnlabelled: FilePath?
        for file in files {
            let path = file.paths[0]
            let value = readXattr(path, EVMProtectedXattr.selinux.name)
            if let value {
                if let wanted, value != wanted {
                    throw .labelConflict(path: path.description, found: EVMPortableInput.selinuxLabel(value),
                                         expected: options.selinuxLabel ?? "")
                }
                if firstLabelled == nil { firstLabelled = path }
                if wanted == nil, let other = firstUnlabelled {
                    throw .inconsistentLabels(path: other.description, labelled: path.description, unlabelled: other.description)
                }
            } else {
                if firstUnlabelled == nil { firstUnlabelled = path }
                if wanted == nil, let other = firstLabelled {
                    throw .inconsistentLabels(path: path.description, labelled: other.description, unlabelled: path.description)
                }
            }
        }
    }

    private static func readXattr(_ path: FilePath, _ name: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = path.withCString { p in buffer.withUnsafeMutableBytes { lgetxattr(p, name, $0.baseAddress, $0.count) } }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }
}

extension SigningPipeline {
    /// Computes the portable EVM signature over `ima` (the final security.ima)
    /// and the file's metadata, and sets security.evm on the same descriptor,
    /// after security.ima. Keeps an existing value that already verifies with
    /// this key over the same input (unless `resignAll`). Returns true when a
    /// new value was (or, dry run, would be) written.
    func signEVM(_ handle: borrowing OpenFile, ima: [UInt8], options evm: EVMSigningOptions,
                 into result: inout SignedFile) throws(FileProblem) -> Bool {
        let input = try EVMComputation.input(for: handle, ima: ima, options: evm)
        let algorithm = options.hashAlgorithm
        let keyID = certificate.imaKeyID
        if !options.resignAll, let existing = try handle.xattr("security.evm"),
           case .portableSignature(let sig)? = try? EVMXattr(bytes: existing),
           sig.keyID == keyID, sig.hashAlgorithm == algorithm,
           certificate.publicKey.verify(signature: sig.signature, digest: EVMComputation.digest(input, algorithm), algorithm: algorithm) {
            result.evm = existing
            return false
        }
        result.evm = try EVMComputation.sign(input, key: key, keyID: keyID, algorithm: algorithm)
        if !options.dryRun && !options.detached {
            // The metadata signed must still be the file's (setting security.ima moved ctime only).
            var now = stat()
            guard fstat(handle.fd, &now) == 0 else { throw .unreadable(errnoDescription(errno)) }
            let before = handle.status
            if now.st_mode != before.st_mode || now.st_uid != before.st_uid || now.st_gid != before.st_gid
                || now.st_size != before.st_size
                || now.st_mtim.tv_sec != before.st_mtim.tv_sec || now.st_mtim.tv_nsec != before.st_mtim.tv_nsec {
                throw .changedWhileReading
            }
            try handle.setXattr("security.evm", result.evm)
        }
        return true
    }
}
